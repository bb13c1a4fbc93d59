@interface:4 @protocol:iso15118-20 @tls
Feature: ISO 15118-20 DC charging over TLS 1.3 with mutual authentication, both roles
  ISO 15118-20 7.7.3.4 makes TLS 1.3 mandatory: a Table 6 cipher suite (TLS_AES_256_GCM_SHA384 or
  TLS_CHACHA20_POLY1305_SHA256), a Table 7 key-exchange group (secp521r1 or x448), Table 8 signatures
  (ecdsa_secp521r1_sha512 or ed448), and the SECC asks for the EVCC's certificate in every session. The
  EV asks for TLS in SDP (security 0x00) as in ISO 15118-2. The tester's credentials come from the lab's
  -20 PKI (`vgi pki init --v2g20`: secp521r1 chains from the V2G root through the CPO sub-CAs, and from
  an OEM root for the vehicle); every tester endpoint writes its TLS keys beside the capture, so the
  handshake and the -20 messages inside it are judged from the capture. What Python's ssl on OpenSSL 3.0
  cannot restrict (the TLS 1.3 suites and signature algorithms it offers) is judged on what was chosen.
  A DC session and a DC_BPT session (@bpt, PICS iso20.dc_bpt) in each role.
  NOT_APPLICABLE when the PICS say the DUT has no TLS (sdp.tls).

  @id:TC_ISO20_TLS_SECC_001 @dut:secc @pics:sdp.tls @full_session
  @req:ISO20-TLS-01 @req:ISO20-TLS-02 @req:ISO20-TLS-03 @req:ISO20-TLS-04 @req:ISO20-TLS-05 @req:ISO20-TLS-06
  @req:ISO2-TLS-SECC-01 @req:ISO20-SECC-01 @req:ISO20-SECC-02
  Scenario: The SECC grants TLS 1.3 and serves a complete ISO 15118-20 DC session inside it
    Given the SECC under test serves ISO 15118-20 over TLS
    And the tester is an ISO 15118-20 DC EV asking for TLS that found the SECC with SDP
    When the tester runs a complete ISO 15118-20 session
    Then the SECC granted TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication
    And the SECC selects ISO 15118-20 DC in supportedAppProtocol
    And the SECC's responses follow the ISO 15118-20 DC session sequence

  @id:TC_ISO20_TLS_EVCC_001 @dut:evcc @pics:sdp.tls @full_session
  @req:ISO20-TLS-01 @req:ISO20-TLS-02 @req:ISO20-TLS-03 @req:ISO20-TLS-04 @req:ISO20-TLS-05 @req:ISO20-TLS-06
  @req:ISO2-TLS-EVCC-01 @req:ISO20-EVCC-01 @req:ISO20-EVCC-02
  Scenario: The EVCC asks for TLS and charges through a complete ISO 15118-20 DC session in TLS 1.3
    Given the tester is an ISO 15118-20 SECC offering DC over TLS only on the link
    When the EVCC under test configured for ISO 15118-20 TLS is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC asked for TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication
    And the EVCC offers ISO 15118-20 DC and continues in it once selected
    And the EVCC's requests follow the ISO 15118-20 DC session sequence with its SessionID

  @id:TC_ISO20_TLS_BPT_001 @dut:secc @pics:sdp.tls @pics:iso20.dc_bpt @bpt @full_session
  @req:ISO20-TLS-01 @req:ISO20-TLS-02 @req:ISO20-TLS-03 @req:ISO20-TLS-04 @req:ISO20-TLS-06
  @req:ISO20-BPT-01 @req:ISO20-BPT-02 @req:ISO20-BPT-03
  Scenario: The SECC serves a complete DC_BPT discharge session inside TLS 1.3
    Given the SECC under test serves ISO 15118-20 over TLS
    And the tester is an ISO 15118-20 DC_BPT EV asking for TLS that found the SECC with SDP
    When the tester runs a complete ISO 15118-20 session
    Then the SECC granted TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication
    And the SECC's responses follow the ISO 15118-20 DC session sequence
    And the tester EV discharged in the DC_BPT session and stayed above its minimum SoC

  @id:TC_ISO20_TLS_BPT_002 @dut:evcc @pics:sdp.tls @pics:iso20.dc_bpt @bpt @full_session
  @req:ISO20-TLS-01 @req:ISO20-TLS-02 @req:ISO20-TLS-03 @req:ISO20-TLS-05 @req:ISO20-TLS-06
  @req:ISO20-BPT-01 @req:ISO20-BPT-02 @req:ISO20-BPT-03
  Scenario: The EVCC discharges through a complete DC_BPT session inside TLS 1.3
    Given the tester is an ISO 15118-20 SECC offering DC and DC_BPT over TLS only on the link
    When the EVCC under test configured for ISO 15118-20 TLS is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC asked for TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication
    And the EVCC's requests follow the ISO 15118-20 DC session sequence with its SessionID
    And the EVCC under test discharged in the DC_BPT session and stayed above its minimum SoC
