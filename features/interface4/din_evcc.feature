@interface:4 @protocol:din70121
Feature: DIN SPEC 70121 DC charging by an EVCC under test, the tester acting as SECC
  SAE J2847/2 / DIN SPEC 70121 over V2GTP/TCP after SDP. The tester is the reference DC charger (charger
  model, SECC machine) plus faults: FAILED and late responses, dropped and malformed responses, a foreign
  SessionID, EVSE emergency shutdown, isolation fault and a stop request from the EVSE.

  Background:
    Given the tester is a DIN SPEC 70121 SECC on the link

  @id:TC_DIN_EVCC_001 @dut:evcc @full_session @req:DIN-EVCC-01 @req:DIN-EVCC-02 @req:DIN-EVCC-03
  @req:DIN-EVCC-07
  Scenario: A complete DC charging session
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC negotiates DIN SPEC 70121 and continues with DIN messages
    And the EVCC's requests follow the DIN SPEC 70121 DC session sequence
    And the EVCC's requests carry the session's SessionID
    And the EVCC ends the session with SessionStopReq
    And every DIN SPEC 70121 frame of the EVCC decodes

  @id:TC_DIN_EVCC_002 @dut:evcc @stage @req:DIN-EVCC-01 @req:DIN-EVCC-02 @req:DIN-EVCC-04 @req:DIN-EVCC-05
  @req:DIN-EVCC-06 @req:DIN-EVCC-07
  Scenario Outline: The EVCC completes the <stage> stage
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC's requests of the <stage> stage are correct

    Examples:
      | stage           |
      | associate       |
      | initialize      |
      | precharge       |
      | energy-transfer |
      | shutdown        |

  @id:TC_DIN_EVCC_003 @dut:evcc @negative @req:DIN-EVCC-08
  Scenario Outline: The EVCC stops after a FAILED response
    Given the tester answers <response> number <n> with response code "<code>"
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends at most <n> <request>
    And the EVCC sends no <next> afterwards

    Examples:
      | response                    | n | code                 | request                     | next                       |
      | SessionSetupRes             | 1 | FAILED               | SessionSetupReq             | ServiceDiscoveryReq        |
      | ChargeParameterDiscoveryRes | 1 | FAILED               | ChargeParameterDiscoveryReq | CableCheckReq              |
      | CurrentDemandRes            | 2 | FAILED_SequenceError | CurrentDemandReq            | WeldingDetectionReq        |

  @id:TC_DIN_EVCC_004 @dut:evcc @negative @req:DIN-EVCC-09
  Scenario: The EVCC stops after a response with a foreign SessionID
    Given the tester answers ServiceDiscoveryRes number 1 with a foreign SessionID
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends no ServicePaymentSelectionReq afterwards

  @id:TC_DIN_EVCC_005 @dut:evcc @timing @req:DIN-EVCC-10
  Scenario Outline: The EVCC waits for a response delayed just under its timeout
    Given the tester delays <response> number <n> by <delay> s
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends <next> afterwards
    And the EVCC ends the session with SessionStopReq

    Examples:
      | response         | n | delay | next                |
      | SessionSetupRes  | 1 | 1.8   | ServiceDiscoveryReq |
      | CurrentDemandRes | 2 | 0.2   | WeldingDetectionReq |

  @id:TC_DIN_EVCC_006 @dut:evcc @negative @timing @req:DIN-EVCC-10
  Scenario Outline: The EVCC gives up on a response delayed just over its timeout
    Given the tester delays <response> number <n> by <delay> s
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends at most <n> <request>
    And the EVCC sends no <next> afterwards

    Examples:
      | response         | n | delay | request          | next                |
      | SessionSetupRes  | 1 | 2.4   | SessionSetupReq  | ServiceDiscoveryReq |
      | CurrentDemandRes | 2 | 0.35  | CurrentDemandReq | WeldingDetectionReq |

  @id:TC_DIN_EVCC_007 @dut:evcc @negative @req:DIN-EVCC-10
  Scenario: The EVCC gives up when a response never comes
    Given the tester drops CableCheckRes number 1
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends at most 1 CableCheckReq
    And the EVCC sends no PreChargeReq afterwards

  @id:TC_DIN_EVCC_008 @dut:evcc @negative @req:DIN-EVCC-11
  Scenario: The EVCC stops after a response that does not decode
    Given the tester sends ServiceDiscoveryRes number 1 as malformed EXI
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends no ServicePaymentSelectionReq afterwards

  @id:TC_DIN_EVCC_009 @dut:evcc @negative @req:DIN-EVCC-12
  Scenario: The EVCC does not precharge after an isolation fault
    Given the tester reports an isolation fault in CableCheckRes number 1
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends no PreChargeReq afterwards

  @id:TC_DIN_EVCC_010 @dut:evcc @negative @req:DIN-EVCC-12
  Scenario Outline: The EVCC leaves the CurrentDemand loop when the EVSE says so
    Given the tester reports <status> in CurrentDemandRes number 2
    When the EVCC under test is plugged in
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then the EVCC sends at most 3 CurrentDemandReq

    Examples:
      | status             |
      | emergency shutdown |
      | stop charging      |
