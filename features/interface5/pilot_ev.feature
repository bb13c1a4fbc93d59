@interface:5 @protocol:pilot @pilot
Feature: Control pilot of an EV under test, the tester acting as EVSE
  SAE J1772 / IEC 61851-1 with ISO 15118-3: the plugged-in EV presents state B, starts SLAC on 5 % and
  asks for energy (state C) only once matched; on a nominal duty cycle it charges without digital
  communication; state E/F stops it, and 5 % afterwards starts SLAC again.

  Background:
    Given the tester is an EVSE on the PLC link

  @id:TC_PILOT_EV_001 @dut:ev @req:PILOT-EV-01
  Scenario: The EV presents state B and asks for energy only after the match
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    And the tester waits 0.5 s
    Then the EV presents state B, and state C only after the match

  @id:TC_PILOT_EV_002 @dut:ev @req:PILOT-EV-02
  Scenario: On a nominal duty cycle the EV charges without SLAC
    When the tester offers a nominal duty cycle for 16 A for 1.5 s
    Then the EV charges on the nominal duty cycle without SLAC

  @id:TC_PILOT_EV_003 @dut:ev @req:PILOT-EV-03
  Scenario: State F stops SLAC and 5 % afterwards starts it again
    Given the tester drops every CM_SLAC_PARM.CNF it would send
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits 0.5 s
    And the tester switches the pilot to state F for 1.5 s
    And the tester offers 5 % again for 0.5 s
    Then the EV stops SLAC in state F and starts again on 5 %

  @id:TC_PILOT_EV_004 @dut:ev @req:PILOT-EV-04
  Scenario: The EV leaves state C when the EVSE switches to state F
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    And the tester waits 0.5 s
    And the tester switches the pilot to state F for 1 s
    Then the EV leaves state C when the EVSE goes to state F
