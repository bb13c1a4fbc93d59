@interface:2 @protocol:slac @slac
Feature: SLAC matching of an EVSE under test, the tester acting as EV
  ISO 15118-3 clause 9 and Annex A: after the EVSE offers 5 % PWM in state B, the EV broadcasts
  CM_SLAC_PARM.REQ, sounds, collects CM_ATTEN_CHAR.IND and asks the chosen EVSE for its network key
  with CM_SLAC_MATCH.REQ. The PLC link comes up once both modems hold that key.

  Background:
    Given the EVSE under test is running its link layer
    And the tester is an EV on the PLC link

  @id:TC_SLAC_EVSE_001 @dut:evse @req:SLAC-EVSE-01 @req:SLAC-EVSE-02 @req:SLAC-EVSE-06
  Scenario: The EVSE matches with the EV and answers with the parameters of Table A.2
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE completes the matching sequence
    And the EVSE's CM_SLAC_PARM.CNF carries the parameters of Table A.2
    And the EVSE's CM_SLAC_MATCH.CNF hands over a network key

  @id:TC_SLAC_EVSE_002 @dut:evse @req:SLAC-EVSE-03 @req:SLAC-EVSE-04
  Scenario: The EVSE echoes the EV's RunID and reports all attenuation groups
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then every answer of the EVSE echoes the EV's RunID
    And the EVSE reports the attenuation of all 58 groups

  @id:TC_SLAC_EVSE_003 @dut:evse @req:SLAC-EVSE-05
  Scenario Outline: The EVSE answers <request> within TT_match_response
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE answers each <request> within TT_match_response

    Examples:
      | request           |
      | CM_SLAC_PARM.REQ  |
      | CM_SLAC_MATCH.REQ |

  @id:TC_SLAC_EVSE_004 @dut:evse @req:SLAC-EVSE-05 @req:SLAC-EVSE-01
  Scenario: A repeated CM_SLAC_PARM.REQ is answered again
    Given the tester sends every CM_SLAC_PARM.REQ twice
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE answers every repetition of CM_SLAC_PARM.REQ
    And the EVSE's CM_SLAC_MATCH.CNF hands over a network key

  @id:TC_SLAC_EVSE_005 @dut:evse @req:SLAC-EVSE-07 @req:SLAC-EVSE-01
  Scenario: A CM_SLAC_MATCH.REQ with a wrong RunID is ignored, the next one answered
    Given the tester sends its first CM_SLAC_MATCH.REQ with a wrong RunID
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE ignores the CM_SLAC_MATCH.REQ with the wrong RunID
    And the EVSE completes the matching sequence

  @id:TC_SLAC_EVSE_006 @dut:evse @req:SLAC-EVSE-03 @req:SLAC-EVSE-05
  Scenario: Each CM_SLAC_PARM.CNF echoes the RunID of the request it answers
    Given the tester sends its first CM_SLAC_PARM.REQ with a wrong RunID
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then each CM_SLAC_PARM.CNF echoes the RunID of the request it answers

  @id:TC_SLAC_EVSE_007 @dut:evse @req:SLAC-EVSE-07
  Scenario: A station that is not the matched EV gets no network key
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    And a foreign station sends CM_SLAC_MATCH.REQ to the EVSE
    Then the EVSE ignores the foreign station

  @id:TC_SLAC_EVSE_008 @dut:evse @req:SLAC-EVSE-08
  Scenario: Without CM_ATTEN_CHAR.RSP the EVSE repeats CM_ATTEN_CHAR.IND, C_EV_match_retry times at most
    Given the tester drops every CM_ATTEN_CHAR.RSP it would send
    And the tester drops every CM_SLAC_MATCH.REQ it would send
    When the tester plugs in and the EVSE offers 5 %
    And the tester runs SLAC for 2 s
    Then the EVSE repeats CM_ATTEN_CHAR.IND at most C_EV_match_retry times, TT_match_response apart

  @id:TC_SLAC_EVSE_009 @dut:evse @req:SLAC-EVSE-08 @req:SLAC-EVSE-01
  Scenario: A lost CM_ATTEN_CHAR.RSP is made good by the repetition
    Given the tester drops its first 1 CM_ATTEN_CHAR.RSP
    And the tester delays its CM_SLAC_MATCH.REQ by 0.5 s
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE completes the matching sequence

  @id:TC_SLAC_EVSE_010 @dut:evse @req:SLAC-LINK-01
  Scenario: The PLC link carries IP only after matching
    When the tester plugs in and the EVSE offers 5 %
    And the tester probes the link with UDP echo "before-match"
    And the tester matches with the EVSE
    And the tester probes the link with UDP echo "after-match"
    Then the link carries IP only after the match: echo "before-match" unanswered, "after-match" answered

  @id:TC_SLAC_EVSE_011 @dut:evse @req:SLAC-LINK-02
  Scenario: After a link loss the EVSE matches again with the EV's new RunID
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    And the tester's modem leaves the logical network and the EV matches again
    Then the EVSE matches again after the link loss, with the new RunID

  @id:TC_SLAC_EVSE_012 @dut:evse @req:SLAC-EVSE-09
  Scenario: Sounding that starts after TT_match_sequence is not characterised
    Given the tester delays its CM_START_ATTEN_CHAR.IND by 0.6 s
    And the tester delays its CM_MNBC_SOUND.IND by 0.6 s
    When the tester plugs in and the EVSE offers 5 %
    And the tester runs SLAC for 2.5 s
    Then the EVSE drops the session when the sounding starts after TT_match_sequence

  @id:TC_SLAC_EVSE_013 @dut:evse @req:SLAC-EVSE-10 @pics:slac.validate
  Scenario: The EVSE validates the EV's pilot toggles with CM_VALIDATE
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    Then the EVSE takes part in CM_VALIDATE and counts the EV's toggles

