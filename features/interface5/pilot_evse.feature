@interface:5 @protocol:pilot @pilot
Feature: Control pilot of an EVSE under test, the tester acting as the vehicle
  SAE J1772 / IEC 61851-1 with the ISO 15118-3 rules for 5 %: the EVSE shows +12 V in state A, offers
  5 % PWM (digital communication) in state B, energizes in state C once the session allows it and
  de-energizes quickly when the vehicle leaves C. Without SLAC it steps through state E/F and retries.

  Background:
    Given the EVSE under test is running its link layer
    And the tester is an EV on the PLC link

  @id:TC_PILOT_EVSE_001 @dut:evse @req:PILOT-EVSE-01
  Scenario: The EVSE offers 5 % once the vehicle presents state B
    When the tester plugs in and the EVSE offers 5 %
    Then the EVSE shows +12 V until the vehicle presents state B, then offers 5 %

  @id:TC_PILOT_EVSE_002 @dut:evse @req:PILOT-EVSE-02 @req:PILOT-EVSE-03
  Scenario: B to C energizes and C to B de-energizes in time
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    And the tester presents state C for 1 s
    And the tester presents state B for 0.5 s
    Then the EVSE energizes within T_pilot_energize of state C
    And the EVSE de-energizes within T_pilot_deenergize of leaving state C

  @id:TC_PILOT_EVSE_003 @dut:evse @req:PILOT-EVSE-03 @req:PILOT-EVSE-04
  Scenario: Unplugging while charging de-energizes and stops the PWM
    When the tester plugs in and the EVSE offers 5 %
    And the tester matches with the EVSE
    And the tester presents state C for 1 s
    And the tester presents state A for 0.5 s
    Then the EVSE de-energizes within T_pilot_deenergize of leaving state C
    And the EVSE returns to +12 V without PWM after unplugging

  @id:TC_PILOT_EVSE_004 @dut:evse @req:PILOT-EVSE-05
  Scenario: State C at 5 % without a match does not energize
    When the tester plugs in and the EVSE offers 5 %
    And the tester presents state C for 1.5 s
    Then the EVSE does not energize without a match

  @id:TC_PILOT_EVSE_005 @dut:evse @req:PILOT-EVSE-06 @slow
  Scenario: Without SLAC the EVSE steps through state E/F and offers 5 % again
    When the tester plugs in and the EVSE offers 5 %
    And the tester waits 26 s
    Then without SLAC the EVSE goes through state F for T_step_EF and offers 5 % again
