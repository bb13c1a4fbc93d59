@interface:4 @protocol:iso15118-2
Feature: ISO 15118-2 DC charging by an EVCC under test, the tester acting as charger
  The EVCC under test discovers the tester's SECC with SDP and charges in ISO 15118-2 with external
  identification; offered several protocols in supportedAppProtocol, the SECC's choice decides. The tester is
  the reference SECC (DC charger model, the DC session machine with the profiles the scenario names).

  @id:TC_ISO2_EVCC_001 @dut:evcc @full_session @req:ISO2-EVCC-01 @req:ISO2-EVCC-02
  Scenario: A complete ISO 15118-2 DC charging session
    Given the tester is an ISO 15118-2 SECC on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC offers ISO 15118-2 and continues in it once selected
    And the EVCC's requests follow the ISO 15118-2 DC session sequence with its SessionID

  @id:TC_ISO2_EVCC_002 @dut:evcc @protocol:din70121 @req:ISO2-EVCC-03
  Scenario: An EVCC offering ISO 15118-2 and DIN SPEC 70121 charges in DIN SPEC 70121 with a DIN-only charger
    Given the tester is a DIN SPEC 70121 SECC on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC continues in DIN SPEC 70121, which the SECC selected, to the end of the session
