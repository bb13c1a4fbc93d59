@interface:9 @protocol:ieee2030.5 @der
Feature: The meter shows the EV's export: the EV's metering mirror during a DER discharge
  SAE J2836/3 AC DER flow, interface 9 (the meter reports export). The DUT is the EV's DER client, as on
  interface 1: its on-board meter mirrors the inverter's real power to the site (IEEE 2030.5 Metering
  Mirror) and the site's view of the export is what that mirror shows. The tester is the site's EVSE/BMS
  serving the DER function set behind the EVSE bridge (README AC DER). Times are server seconds on the
  lab's fast clock; every verdict comes from the decrypted capture.

  @id:TC_DER_I9_001 @dut:ev @req:DER-METER-02
  Scenario: The EV's metering mirror shows a commanded discharge as negative real power of the commanded size
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 900 s: opModFixedW=7500
    And the DER site waits until control "discharge" has ended
    Then the EV's metering mirror shows the export as negative real power of the commanded size
