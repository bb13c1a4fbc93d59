@interface:4 @protocol:iso15118-2 @tls
Feature: ISO 15118-2 DC charging over TLS, both roles
  ISO 15118-2 7.10.1 and 7.7.3: the EV asks for TLS in its SECCDiscoveryReq (security 0x00), the SECC
  grants it and announces the port of its TLS server; the V2G session then runs inside TLS 1.2 with one of
  the cipher suites the standard lists (TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256; the static-ECDH one is
  gone from OpenSSL). The SECC presents its chain from the V2G root through the CPO sub-CAs (`vgi pki init
  --v2g`); the EV verifies it to the V2G root and presents no certificate. Every tester endpoint writes its
  TLS keys beside the capture, so the handshake and the V2G messages inside it are judged from the capture.
  NOT_APPLICABLE when the PICS say the DUT has no TLS (sdp.tls).

  @id:TC_ISO2_TLS_SECC_001 @dut:secc @pics:sdp.tls @req:ISO2-TLS-SECC-01 @req:ISO2-TLS-SECC-02
  @req:ISO2-SECC-01 @req:ISO2-SECC-03 @req:ISO2-SECC-TIME-01
  Scenario: The SECC grants TLS and serves a complete ISO 15118-2 DC session inside it
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV asking for TLS that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC granted TLS in its SECCDiscoveryRes
    And the SECC negotiated TLS 1.2 with an ISO 15118-2 cipher suite on the granted port
    And the SECC carried the whole V2G session inside that TLS session
    And the SECC selects ISO 15118-2 in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-2 DC session sequence
    And the SECC answers every request within its ISO 15118-2 performance time
    And every ISO 15118-2 frame of the SECC decodes

  @id:TC_ISO2_TLS_SECC_002 @dut:secc @pics:sdp.tls @negative @req:ISO2-TLS-SECC-01 @req:ISO2-TLS-SECC-03
  Scenario: An SECC that granted TLS refuses a V2G session in plain TCP on its TLS port
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV asking for TLS that found the SECC with SDP
    When the tester opens the granted connection in plain TCP and starts the session
    Then the SECC granted TLS in its SECCDiscoveryRes
    And the SECC sends no V2G message in plain TCP on the TLS port

  @id:TC_ISO2_TLS_EVCC_001 @dut:evcc @pics:sdp.tls @req:ISO2-TLS-EVCC-01 @req:ISO2-EVCC-01 @req:ISO2-EVCC-02
  Scenario: The EVCC asks for TLS and charges through a complete ISO 15118-2 DC session inside it
    Given the tester is an ISO 15118-2 SECC offering only TLS on the link
    When the EVCC under test configured for TLS is plugged in
    And the tester serves the EVCC's session
    Then the EVCC asked for TLS in its SECCDiscoveryReq
    And the EVCC opened a TLS 1.2 session with an ISO 15118-2 cipher suite on the granted port
    And the EVCC carried its V2G session inside that TLS session
    And the EVCC offers ISO 15118-2 and continues in it once selected
    And the EVCC's requests follow the ISO 15118-2 DC session sequence with its SessionID

  @id:TC_ISO2_TLS_EVCC_002 @dut:evcc @pics:sdp.tls @negative @req:ISO2-TLS-EVCC-02
  Scenario Outline: The EVCC aborts the TLS handshake when the SECC's certificate chain cannot be verified
    Given the tester is an ISO 15118-2 SECC offering only TLS with a certificate chain <chain>
    When the EVCC under test configured for TLS is plugged in
    And the tester serves the EVCC's session
    Then the EVCC aborts the TLS handshake with alert "<alert>"

    Examples:
      | chain                            | alert               |
      | from an unknown root             | unknown_ca          |
      | with an expired SECC certificate | certificate_expired |
