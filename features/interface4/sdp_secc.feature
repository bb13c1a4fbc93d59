@interface:4 @protocol:sdp
Feature: SECC discovery (SDP) of an SECC under test, the tester acting as EVCC
  ISO 15118-2 section 7.10.1, used unchanged by DIN SPEC 70121 / SAE J2847/2: after the PLC link is
  up, the EVCC multicasts a SECCDiscoveryReq to ff02::1 port 15118 and the SECC answers with the IPv6
  address and TCP port of its V2G server. The EVCC waits 250 ms per request.

  Background:
    Given the SECC under test is running
    And the tester is an EVCC on the link

  @id:TC_SDP_SECC_001 @dut:secc @req:SDP-SECC-01 @req:SDP-SECC-02 @req:SDP-SECC-04
  Scenario: Discovery succeeds and the response is well formed
    When the tester sends a SECCDiscoveryReq asking for security "none" and transport "TCP"
    Then the SECC answers every valid SECCDiscoveryReq
    And the SECC answers within the EVCC's SDP_RESPONSE_WAIT
    And every SECCDiscoveryRes is well formed

  @id:TC_SDP_SECC_002 @dut:secc @req:SDP-SECC-01 @req:SDP-SECC-03
  Scenario Outline: The security byte of the request is honoured
    When the tester sends a SECCDiscoveryReq asking for security "<security>" and transport "TCP"
    Then the SECC answers every valid SECCDiscoveryReq
    And the SECC states the security it will use for a request of "<security>"

    Examples:
      | security |
      | none     |
      | tls      |

  @id:TC_SDP_SECC_003 @dut:secc @req:SDP-SECC-05 @req:SDP-SECC-01
  Scenario Outline: A malformed SDP request is ignored and the next valid one answered
    When the tester sends an SDP request with a wrong <defect>
    And the tester sends a SECCDiscoveryReq asking for security "none" and transport "TCP"
    Then the SECC does not answer the malformed request
    And the SECC answers every valid SECCDiscoveryReq

    Examples:
      | defect          |
      | version         |
      | inverse-version |
      | payload-type    |
      | length          |
