@interface:5 @protocol:ieee2030.5 @der @j3072 @pics:sep2.j3072_authorizer
Feature: The EVSE under test as SAE J3072 authorizer of an EV's on-board inverter, the tester as the inverter
  SAE J3072 has the EVSE authorize the EV's grid-support inverter before it discharges at the site. Here
  the EVSE serves IEEE 2030.5 DER programs to the inverter; program 1 is its J3072 authorization, whose
  DefaultDERControl opModEnergize says whether the inverter may export, and a refusal is a TextMessage
  giving the reason (the profile is [unverified], the rules are the harness's: README AC DER). The tester
  plays the inverter, declares its DERCapability and DERSettings, and judges the EVSE's decision from the
  decrypted capture.

  Background:
    Given the EVSE under test authorizes EV inverters for its site

  @id:TC_DER_I5_001 @dut:evse @req:DER-EVSE-01
  Scenario: No authorization before the inverter's settings are checked, authorization for compliant settings
    When the tester, as the EV's inverter, declares compliant settings and follows the EVSE's DER programs
    Then the EVSE does not authorize the inverter before checking its settings, and authorizes it after

  @id:TC_DER_I5_002 @dut:evse @req:DER-EVSE-02 @negative
  Scenario: Settings beyond the inverter's own rating are refused with a reason
    When the tester, as the EV's inverter, declares a setMaxW above its own rtgMaxW and follows the EVSE's DER programs
    Then the EVSE refuses the inverter with a reason and never authorizes it

  @id:TC_DER_I5_003 @dut:evse @req:DER-EVSE-02 @negative
  Scenario: A discharge rate beyond the site's export limit is refused with a reason
    When the tester, as the EV's inverter, declares a discharge rate above the site's export limit and follows the EVSE's DER programs
    Then the EVSE refuses the inverter with a reason and never authorizes it
