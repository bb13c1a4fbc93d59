@interface:4 @protocol:iso15118-2
Feature: ISO 15118-2 DC charging by an SECC under test, the tester acting as EV
  ISO 15118-2 over V2GTP/TCP after SDP, with external identification: supportedAppProtocol, then the DC
  session (SessionSetup, ServiceDiscovery, PaymentServiceSelection, Authorization, ChargeParameterDiscovery,
  CableCheck, PreCharge, PowerDelivery, CurrentDemand, WeldingDetection, SessionStop). The tester is the
  reference EV speaking ISO 15118-2 (the DC session machine with its ISO 15118-2 profile) plus faults;
  verdicts come from the capture, where ISO 15118-2 messages decode with the negotiated schema.

  Background:
    Given the SECC under test is running

  @id:TC_ISO2_SECC_001 @dut:secc @full_session @req:ISO2-SECC-01 @req:ISO2-SECC-02 @req:ISO2-SECC-03
  @req:ISO2-SECC-TIME-01
  Scenario: A complete ISO 15118-2 DC charging session
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC selects ISO 15118-2 in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-2 DC session sequence
    And the SECC answers every ISO 15118-2 request with an OK code and the session's SessionID
    And the SECC answers every request within its ISO 15118-2 performance time
    And every ISO 15118-2 frame of the SECC decodes

  @id:TC_ISO2_SECC_002 @dut:secc @protocol:din70121 @req:ISO2-SECC-01 @req:ISO2-SECC-03
  Scenario: An EV offering ISO 15118-2 before DIN SPEC 70121 gets ISO 15118-2 from an SECC that has both
    Given the tester is an EV offering ISO 15118-2 then DIN SPEC 70121 that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC selects ISO 15118-2 in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-2 DC session sequence

  @id:TC_ISO2_SECC_003 @dut:secc @negative @req:ISO2-SECC-04
  Scenario Outline: An ISO 15118-2 request with a foreign SessionID is refused
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester sends <request> number <n> with a foreign SessionID
    Then the SECC answers that <request> with response code "FAILED_UnknownSession"

    Examples:
      | request                     | n |
      | ServiceDiscoveryReq         | 1 |
      | ChargeParameterDiscoveryReq | 1 |
      | CurrentDemandReq            | 2 |

  @id:TC_ISO2_SECC_004 @dut:secc @negative @req:ISO2-SECC-05
  Scenario Outline: An ISO 15118-2 request out of sequence is refused
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester sends <sent> in place of <expected>
    Then the SECC answers that <sent> with response code "FAILED_SequenceError"

    Examples:
      | expected            | sent                        |
      | ServiceDiscoveryReq | ChargeParameterDiscoveryReq |
      | CableCheckReq       | CurrentDemandReq            |
      | PreChargeReq        | WeldingDetectionReq         |

  @id:TC_ISO2_SECC_005 @dut:secc @req:ISO2-SECC-06
  Scenario: The EV pauses the session and resumes it on a new connection
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester pauses the session and resumes it on a new connection
    Then the SECC let the EV resume its paused session
    And every ISO 15118-2 frame of the SECC decodes

  @id:TC_ISO2_SECC_006 @dut:secc @stage @req:ISO2-SECC-01 @req:ISO2-SECC-02 @req:ISO2-SECC-03
  @req:ISO2-SECC-07 @req:ISO2-SECC-08 @req:ISO2-SECC-09 @req:ISO2-SECC-10 @req:ISO2-SECC-11
  @req:ISO2-SECC-TIME-01
  Scenario Outline: The SECC completes the <stage> stage of an ISO 15118-2 session
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC's responses of the <stage> stage are correct
    And the SECC answers the requests of the <stage> stage in time

    Examples:
      | stage           |
      | associate       |
      | initialize      |
      | precharge       |
      | energy-transfer |
      | shutdown        |

  @id:TC_ISO2_SECC_007 @dut:secc @negative @req:ISO2-SECC-12
  Scenario Outline: An ISO 15118-2 request that does not decode is not answered
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester sends ServiceDiscoveryReq as <defect>
    Then the SECC does not answer the request that does not decode

    Examples:
      | defect          |
      | malformed EXI   |
      | truncated V2GTP |

  @id:TC_ISO2_SECC_008 @dut:secc @negative @req:ISO2-SECC-11 @req:ISO2-SECC-TIME-01
  Scenario: The EV stops during the ISO 15118-2 CurrentDemand loop
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester charges and the EV asks to stop after CurrentDemandRes number 2
    Then the SECC accepts the EV's stop and ends the session with SessionStopRes OK
    And the SECC answers every request within its ISO 15118-2 performance time

  @id:TC_ISO2_SECC_009 @dut:secc @negative @req:ISO2-SECC-13
  Scenario: An AC energy transfer mode is refused in ISO 15118-2
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester asks for energy transfer type "AC_single_phase_core"
    Then the SECC answers that ChargeParameterDiscoveryReq with response code "FAILED_WrongEnergyTransferMode"

  @id:TC_ISO2_SECC_010 @dut:secc @negative @req:ISO2-SECC-14
  Scenario: A new ISO 15118-2 session after the EV's connection was reset during CurrentDemand
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester resets the TCP connection in place of CurrentDemandReq number 2
    And the tester discovers the SECC again and charges through a complete session
    Then the SECC served a new session after the reset

  @id:TC_ISO2_SECC_011 @dut:secc @negative @req:ISO2-SECC-15 @req:ISO2-SECC-11
  Scenario: The EV reports an error in ISO 15118-2 CurrentDemandReq and stops
    Given the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester charges and the EV reports "FAILED_RESSTemperatureInhibit" in CurrentDemandReq number 2, then stops
    Then the SECC answers the CurrentDemandReq reporting "FAILED_RESSTemperatureInhibit" within its performance time
    And the SECC accepts the EV's stop and ends the session with SessionStopRes OK
