@interface:4 @protocol:iso15118-20
Feature: ISO 15118-20 DC charging by an SECC under test, the tester acting as EV
  ISO 15118-20 over V2GTP/TCP after SDP, with external identification (EIM) and Scheduled control:
  supportedAppProtocol with the -20 DC namespace, then SessionSetup, AuthorizationSetup, Authorization,
  ServiceDiscovery, ServiceDetail, ServiceSelection, DC_ChargeParameterDiscovery, ScheduleExchange,
  DC_CableCheck, DC_PreCharge, PowerDelivery, DC_ChargeLoop, PowerDelivery, DC_WeldingDetection and
  SessionStop. The tester is the reference -20 EV (harness.protocol.iso15118_20) plus faults; verdicts come
  from the capture, where -20 messages decode by their V2GTP payload type (0x8002 common, 0x8004 DC). No
  TLS yet: the SECC's plain TCP port (PICS sdp.no_tls).

  Background:
    Given the SECC under test is running

  @id:TC_ISO20_SECC_001 @dut:secc @full_session @req:ISO20-SECC-01 @req:ISO20-SECC-02 @req:ISO20-SECC-03
  @req:ISO20-SECC-TIME-01
  Scenario: A complete ISO 15118-20 DC charging session
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the tester runs a complete ISO 15118-20 session
    Then the SECC selects ISO 15118-20 DC in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-20 DC session sequence
    And the SECC answers every ISO 15118-20 request with an OK code and the session's SessionID
    And the SECC answers every ISO 15118-20 request within its performance time

  @id:TC_ISO20_SECC_008 @dut:secc @req:ISO20-SECC-01 @req:ISO20-SECC-03
  Scenario: An EV offering ISO 15118-20, ISO 15118-2 and DIN SPEC 70121 gets ISO 15118-20
    Given the tester is an EV offering ISO 15118-20, ISO 15118-2 and DIN SPEC 70121 that found the SECC with SDP
    When the tester runs a complete ISO 15118-20 session
    Then the SECC selects ISO 15118-20 DC in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-20 DC session sequence

  @id:TC_ISO20_SECC_002 @dut:secc @negative @req:ISO20-SECC-04
  Scenario Outline: An ISO 15118-20 request with a foreign SessionID is refused
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester sends <request> number <n> with a foreign SessionID
    Then the SECC under test answers that ISO 15118-20 <request> with response code "FAILED_UnknownSession"

    Examples:
      | request                        | n |
      | ServiceDiscoveryReq            | 1 |
      | DC_ChargeParameterDiscoveryReq | 1 |
      | DC_ChargeLoopReq               | 2 |

  @id:TC_ISO20_SECC_003 @dut:secc @negative @req:ISO20-SECC-05
  Scenario Outline: An ISO 15118-20 request out of sequence is refused
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester sends <sent> in place of <expected>
    Then the SECC under test answers that ISO 15118-20 <sent> with response code "FAILED_SequenceError"

    Examples:
      | expected              | sent                   |
      | AuthorizationSetupReq | DC_CableCheckReq       |
      | ServiceDiscoveryReq   | DC_PreChargeReq        |
      | DC_CableCheckReq      | DC_WeldingDetectionReq |

  @id:TC_ISO20_SECC_004 @dut:secc @negative @req:ISO20-SECC-06
  Scenario Outline: An ISO 15118-20 request that does not decode is not answered
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester sends ServiceDiscoveryReq as <defect>
    Then the SECC does not answer the ISO 15118-20 request that does not decode

    Examples:
      | defect          |
      | malformed EXI   |
      | truncated V2GTP |

  @id:TC_ISO20_SECC_005 @dut:secc @negative @req:ISO20-SECC-07
  Scenario Outline: A service or parameter set that was not offered is refused
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester selects service <service> parameter set <set>
    Then the SECC under test answers that ISO 15118-20 ServiceSelectionReq with response code "FAILED_ServiceSelectionInvalid"

    Examples:
      | service | set |
      | 9       | 1   |
      | 2       | 99  |

  @id:TC_ISO20_SECC_006 @dut:secc @negative @req:ISO20-SECC-07
  Scenario: The detail of a service that was not offered is refused
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester asks for the service detail of service 9
    Then the SECC under test answers that ISO 15118-20 ServiceDetailReq with response code "FAILED_ServiceIDInvalid"

  @id:TC_ISO20_SECC_007 @dut:secc @negative @req:ISO20-SECC-08
  Scenario: A charge loop in the control mode the session did not select is refused
    Given the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester sends DC_ChargeLoopReq number 2 in the BPT_Scheduled_DC_CLReqControlMode control mode
    Then the SECC under test answers that ISO 15118-20 DC_ChargeLoopReq with response code "FAILED_WrongChargeParameter"
