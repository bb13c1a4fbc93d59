@interface:4 @protocol:iso15118-2
Feature: ISO 15118-2 DC charging by an EVCC under test, the tester acting as charger
  The EVCC under test discovers the tester's SECC with SDP and charges in ISO 15118-2 with external
  identification; offered several protocols in supportedAppProtocol, the SECC's choice decides. The tester is
  the reference SECC (DC charger model, the DC session machine with the profiles the scenario names) plus
  faults: FAILED, late, dropped and malformed responses, a foreign SessionID, authorization still Ongoing,
  EVSE emergency shutdown, isolation fault and a stop request from the EVSE. Message timeouts are those of
  ISO 15118-2 Table 109 as the lab's PIXIT sets them.

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

  @id:TC_ISO2_EVCC_003 @dut:evcc @stage @req:ISO2-EVCC-01 @req:ISO2-EVCC-02 @req:ISO2-EVCC-04
  @req:ISO2-EVCC-05 @req:ISO2-EVCC-06 @req:ISO2-EVCC-07
  Scenario Outline: The EVCC completes the <stage> stage of an ISO 15118-2 session
    Given the tester is an ISO 15118-2 SECC on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC's requests of the <stage> stage are correct

    Examples:
      | stage           |
      | associate       |
      | initialize      |
      | precharge       |
      | energy-transfer |
      | shutdown        |

  @id:TC_ISO2_EVCC_004 @dut:evcc @negative @req:ISO2-EVCC-08
  Scenario Outline: The EVCC stops after an ISO 15118-2 FAILED response
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester answers <response> number <n> with response code "<code>"
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends at most <n> <request>
    And the EVCC sends no <next> afterwards

    Examples:
      | response                    | n | code                           | request                     | next                        |
      | SessionSetupRes             | 1 | FAILED                         | SessionSetupReq             | ServiceDiscoveryReq         |
      | AuthorizationRes            | 1 | FAILED                         | AuthorizationReq            | ChargeParameterDiscoveryReq |
      | ChargeParameterDiscoveryRes | 1 | FAILED_WrongEnergyTransferMode | ChargeParameterDiscoveryReq | CableCheckReq               |
      | CurrentDemandRes            | 2 | FAILED_SequenceError           | CurrentDemandReq            | WeldingDetectionReq         |

  @id:TC_ISO2_EVCC_005 @dut:evcc @negative @req:ISO2-EVCC-09
  Scenario: The EVCC stops after an ISO 15118-2 response with a foreign SessionID
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester answers ServiceDiscoveryRes number 1 with a foreign SessionID
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends no PaymentServiceSelectionReq afterwards

  @id:TC_ISO2_EVCC_006 @dut:evcc @timing @req:ISO2-EVCC-10
  Scenario Outline: The EVCC waits for a response delayed just under its ISO 15118-2 timeout
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester delays <response> number <n> to just under the EVCC's ISO 15118-2 timeout
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends <next> afterwards
    And the EVCC ends the session with SessionStopReq

    Examples:
      | response         | n | next                |
      | SessionSetupRes  | 1 | ServiceDiscoveryReq |
      | PowerDeliveryRes | 1 | CurrentDemandReq    |
      | CurrentDemandRes | 2 | WeldingDetectionReq |

  @id:TC_ISO2_EVCC_007 @dut:evcc @negative @timing @req:ISO2-EVCC-10
  Scenario Outline: The EVCC gives up on a response delayed just over its ISO 15118-2 timeout
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester delays <response> number <n> to just over the EVCC's ISO 15118-2 timeout
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends at most <n> <request>
    And the EVCC sends no <next> afterwards

    Examples:
      | response         | n | request          | next                |
      | SessionSetupRes  | 1 | SessionSetupReq  | ServiceDiscoveryReq |
      | PowerDeliveryRes | 1 | PowerDeliveryReq | CurrentDemandReq    |
      | CurrentDemandRes | 2 | CurrentDemandReq | WeldingDetectionReq |

  @id:TC_ISO2_EVCC_008 @dut:evcc @negative @req:ISO2-EVCC-10
  Scenario: The EVCC gives up when an ISO 15118-2 response never comes
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester drops CableCheckRes number 1
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends at most 1 CableCheckReq
    And the EVCC sends no PreChargeReq afterwards

  @id:TC_ISO2_EVCC_009 @dut:evcc @negative @req:ISO2-EVCC-11
  Scenario: The EVCC stops after an ISO 15118-2 response that does not decode
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester sends ServiceDiscoveryRes number 1 as malformed EXI
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends no PaymentServiceSelectionReq afterwards

  @id:TC_ISO2_EVCC_010 @dut:evcc @negative @req:ISO2-EVCC-12
  Scenario: The EVCC does not precharge after an isolation fault in ISO 15118-2 CableCheckRes
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester reports an isolation fault in CableCheckRes number 1
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends no PreChargeReq afterwards

  @id:TC_ISO2_EVCC_011 @dut:evcc @negative @req:ISO2-EVCC-12
  Scenario Outline: The EVCC leaves the ISO 15118-2 CurrentDemand loop when the EVSE says so
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester reports <status> in CurrentDemandRes number 2
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC sends at most 3 CurrentDemandReq

    Examples:
      | status             |
      | emergency shutdown |
      | stop charging      |

  @id:TC_ISO2_EVCC_012 @dut:evcc @req:ISO2-EVCC-13 @req:ISO2-EVCC-02
  Scenario: The EVCC repeats AuthorizationReq while the ISO 15118-2 SECC is still processing
    Given the tester is an ISO 15118-2 SECC on the link
    And the tester answers AuthorizationReq with EVSEProcessing Ongoing 3 times
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC repeats AuthorizationReq after each of the 3 Ongoing answers, then goes on
    And the EVCC's requests follow the ISO 15118-2 DC session sequence with its SessionID
