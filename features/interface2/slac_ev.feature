@interface:2 @protocol:slac @slac
Feature: SLAC matching of an EV under test, the tester acting as EVSE (or several on a cable bundle)
  ISO 15118-3 clause 9 and Annex A, seen from the EVSE: the EV starts SLAC on 5 % PWM, repeats
  unanswered requests after TT_match_response at most C_EV_match_retry times, sounds 3 + 10 times,
  picks the EVSE with the lowest attenuation and restarts after a failure or a link loss.

  Background:
    Given the tester is an EVSE on the PLC link

  @id:TC_SLAC_EV_001 @dut:ev @req:SLAC-EV-01 @req:SLAC-EV-02 @req:SLAC-EV-09
  Scenario: The EV runs the whole matching sequence with well-formed messages
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV runs the matching sequence to CM_SLAC_MATCH.CNF
    And the EV's requests carry the fields ISO 15118-3 requires
    And the EV sounds at the pace of TP_EV_batch_msg_interval

  @id:TC_SLAC_EV_002 @dut:ev @req:SLAC-EV-03
  Scenario: The EV keeps its RunID through one matching process
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV keeps one RunID through the matching process

  @id:TC_SLAC_EV_003 @dut:ev @req:SLAC-EV-04
  Scenario Outline: The EV repeats an unanswered <request>
    Given the tester drops its first 1 <response>
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV repeats an unanswered <request> after TT_match_response

    Examples:
      | request           | response          |
      | CM_SLAC_PARM.REQ  | CM_SLAC_PARM.CNF  |
      | CM_SLAC_MATCH.REQ | CM_SLAC_MATCH.CNF |

  @id:TC_SLAC_EV_004 @dut:ev @req:SLAC-EV-05
  Scenario: The EV gives up when no EVSE answers
    Given the tester drops every CM_SLAC_PARM.CNF it would send
    When the EV under test is plugged in and the tester offers 5 %
    And the tester lets the EV try for 4 s
    Then the EV gives up after C_EV_match_retry repetitions and C_conn_max_match attempts

  @id:TC_SLAC_EV_005 @dut:ev @req:SLAC-EV-06
  Scenario: The EV ignores a CM_SLAC_PARM.CNF with a wrong RunID
    Given the tester sends its first CM_SLAC_PARM.CNF with a wrong RunID
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV does not start sounding on the deviating CM_SLAC_PARM.CNF

  @id:TC_SLAC_EV_006 @dut:ev @req:SLAC-EV-06
  Scenario: The EV ignores a CM_SLAC_PARM.CNF that deviates from Table A.2
    Given the tester sends its first CM_SLAC_PARM.CNF with NUM_SOUNDS 5
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV does not start sounding on the deviating CM_SLAC_PARM.CNF

  @id:TC_SLAC_EV_007 @dut:ev @req:SLAC-EV-08
  Scenario: Without attenuation results the EV sends no CM_SLAC_MATCH.REQ and starts over
    Given the tester drops every CM_ATTEN_CHAR.IND it would send
    When the EV under test is plugged in and the tester offers 5 %
    And the tester lets the EV try for 3 s
    Then the EV does not send CM_SLAC_MATCH.REQ without attenuation results and starts over

  @id:TC_SLAC_EV_008 @dut:ev @req:SLAC-LINK-01
  Scenario: The PLC link to the EV carries IP only after matching
    When the EV under test is plugged in and the tester offers 5 %
    And the tester probes the link with UDP echo "before-match"
    And the tester waits up to 10 s for the EV to match
    And the tester probes the link with UDP echo "after-match"
    Then the link carries IP only after the match: echo "before-match" unanswered, "after-match" answered

  @id:TC_SLAC_EV_009 @dut:ev @req:SLAC-LINK-02
  Scenario: After a link loss the EV starts a new matching process
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    And the tester's modem leaves the logical network and waits for the EV to match again
    Then the EV starts a new matching process after the link loss

  @id:TC_SLAC_EV_011 @dut:ev @req:SLAC-EV-10 @pics:slac.validate
  Scenario: The EV validates with pilot toggles before asking for the match
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV validates by toggling the pilot before CM_SLAC_MATCH.REQ

