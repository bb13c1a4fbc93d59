@interface:2 @protocol:slac @slac @multi_evse
Feature: EVSE selection by an EV under test on a cable bundle, the tester acting as several EVSEs
  ISO 15118-3 9.4: every EVSE on the bundle hears the EV's sounds and reports the attenuation its modem
  measured; the EV must match with the EVSE of lowest attenuation, the one it is plugged into.

  @id:TC_SLAC_EV_010 @dut:ev @req:SLAC-EV-07
  Scenario: On a cable bundle the EV picks the EVSE with the lowest attenuation
    Given the tester is 3 EVSEs on one cable bundle with attenuations 40 dB, 22 dB, 55 dB
    When the EV under test is plugged in and the tester offers 5 %
    And the tester waits up to 10 s for the EV to match
    Then the EV matches with the EVSE of lowest attenuation only
