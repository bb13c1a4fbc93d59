@interface:4 @protocol:din70121
Feature: DIN SPEC 70121 DC charging by an SECC under test, the tester acting as EV
  SAE J2847/2 / DIN SPEC 70121 over V2GTP/TCP after SDP: supportedAppProtocol, then the DC session through
  the J2836/2 stages associate, initialize, precharge, energy transfer and shutdown. The tester is the
  reference EV (battery model, EVCC machine) plus faults; verdicts come from the capture.

  Background:
    Given the SECC under test is running
    And the tester is a DIN SPEC 70121 EV that found the SECC with SDP

  @id:TC_DIN_SECC_001 @dut:secc @full_session @req:DIN-SECC-01 @req:DIN-SECC-02 @req:DIN-SECC-03
  @req:DIN-SECC-TIME-01 @req:DIN-SECC-TIME-02
  Scenario: A complete DC charging session
    When the tester charges through a complete DIN SPEC 70121 session
    Then the SECC's responses follow the DIN SPEC 70121 DC session sequence
    And the SECC answers every request with an OK code and the session's SessionID
    And the SECC answers every request within V2G_EVCC_Msg_Timeout
    And the SECC answers every CurrentDemandReq within its performance time
    And every DIN SPEC 70121 frame of the SECC decodes

  @id:TC_DIN_SECC_002 @dut:secc @stage @req:DIN-SECC-01 @req:DIN-SECC-02 @req:DIN-SECC-03 @req:DIN-SECC-04
  @req:DIN-SECC-05 @req:DIN-SECC-06 @req:DIN-SECC-07 @req:DIN-SECC-08 @req:DIN-SECC-TIME-01
  @req:DIN-SECC-TIME-02
  Scenario Outline: The SECC completes the <stage> stage
    When the tester charges through a complete DIN SPEC 70121 session
    Then the SECC's responses of the <stage> stage are correct
    And the SECC answers the requests of the <stage> stage in time

    Examples:
      | stage           |
      | associate       |
      | initialize      |
      | precharge       |
      | energy-transfer |
      | shutdown        |

  @id:TC_DIN_SECC_003 @dut:secc @negative @req:DIN-SECC-09
  Scenario Outline: A request with a foreign SessionID is refused
    When the tester sends <request> number <n> with a foreign SessionID
    Then the SECC answers that <request> with response code "FAILED_UnknownSession"

    Examples:
      | request                     | n |
      | ServiceDiscoveryReq         | 1 |
      | ChargeParameterDiscoveryReq | 1 |
      | CurrentDemandReq            | 2 |

  @id:TC_DIN_SECC_004 @dut:secc @negative @req:DIN-SECC-10
  Scenario Outline: A request out of sequence is refused
    When the tester sends <sent> in place of <expected>
    Then the SECC answers that <sent> with response code "FAILED_SequenceError"

    Examples:
      | expected            | sent                        |
      | ServiceDiscoveryReq | ChargeParameterDiscoveryReq |
      | CableCheckReq       | CurrentDemandReq            |
      | PreChargeReq        | WeldingDetectionReq         |

  @id:TC_DIN_SECC_005 @dut:secc @negative @req:DIN-SECC-11
  Scenario Outline: A request that does not decode is not answered
    When the tester sends ServiceDiscoveryReq as <defect>
    Then the SECC does not answer the request that does not decode

    Examples:
      | defect          |
      | malformed EXI   |
      | truncated V2GTP |

  @id:TC_DIN_SECC_006 @dut:secc @negative @req:DIN-SECC-08 @req:DIN-SECC-TIME-02
  Scenario: The EV stops during the CurrentDemand loop
    When the tester charges and the EV asks to stop after CurrentDemandRes number 2
    Then the SECC accepts the EV's stop and ends the session with SessionStopRes OK
    And the SECC answers every request within V2G_EVCC_Msg_Timeout

  @id:TC_DIN_SECC_007 @dut:secc @negative @req:DIN-SECC-12
  Scenario: An AC energy transfer request is refused
    When the tester asks for energy transfer type "AC_single_phase_core"
    Then the SECC answers that ChargeParameterDiscoveryReq with response code "FAILED_WrongEnergyTransferType"

  @id:TC_DIN_SECC_008 @dut:secc @negative @req:DIN-SECC-13
  Scenario: A new session after the EV's connection was reset during CurrentDemand
    When the tester resets the TCP connection in place of CurrentDemandReq number 2
    And the tester discovers the SECC again and charges through a complete session
    Then the SECC served a new session after the reset
