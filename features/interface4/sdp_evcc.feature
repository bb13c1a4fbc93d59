@interface:4 @protocol:sdp
Feature: SECC discovery (SDP) by an EVCC under test, the tester acting as SECC
  ISO 15118-2 section 7.10.1, used unchanged by DIN SPEC 70121 / SAE J2847/2: an EVCC that gets no
  SECCDiscoveryRes repeats its request after 250 ms, at most 50 times; once answered it opens its
  TCP connection to the announced address and port.

  Background:
    Given the tester is an SECC on the link

  @id:TC_SDP_EVCC_001 @dut:evcc @req:SDP-EVCC-01 @req:SDP-EVCC-03 @req:SDP-EVCC-04
  Scenario: The EVCC repeats unanswered requests and connects once answered
    Given the tester ignores the first SDP requests, as many as PIXIT sdp_silent_requests
    When the EVCC under test is plugged in
    And the tester answers the EVCC's next SECCDiscoveryReq
    Then the EVCC waits at least SDP_RESPONSE_WAIT before repeating a request
    And every SECCDiscoveryReq of the EVCC is well formed
    And the EVCC stops requesting once answered and connects to the announced port

  @id:TC_SDP_EVCC_002 @dut:evcc @req:SDP-EVCC-02 @req:SDP-EVCC-01
  Scenario: The EVCC gives up after at most 50 unanswered requests
    Given the tester ignores every SDP request
    When the EVCC under test is plugged in
    And the EVCC has stopped sending SDP requests
    Then the EVCC sends at most SDP_MAX_REQUESTS SECCDiscoveryReq
    And the EVCC waits at least SDP_RESPONSE_WAIT before repeating a request
