@interface:8 @protocol:ieee2030.5
Feature: The site controller (BMS) as IEEE 2030.5 server under test, the tester as an EV or EVSE client
  Interface 8: the BMS serves the site's prices, DR events and user messages to the EVSEs and EVs
  it manages (the server side of the interface 1 bridge).

  Background:
    Given the IEEE 2030.5 bms under test is running

  @id:TC_SEP2_I8_001 @dut:bms @req:SEP2-SERVER-01 @req:SEP2-SERVER-02 @req:SEP2-TLS-04
  Scenario: Every resource of the site controller conforms and links resolve
    When the tester walks the resource tree from DeviceCapability
    Then every response is 200 application/sep+xml, schema-valid, and every link resolves
    And the server exposes EndDeviceControlList, TimeTariffIntervalList and TextMessageList
    And the server negotiates TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8

  @id:TC_SEP2_I8_002 @dut:bms @req:SEP2-SERVER-03 @req:SEP2-SERVER-04 @negative
  Scenario Outline: The site controller answers bad bodies and keeps serving
    When the tester sends <kind> to the server
    Then the server answers <status> and keeps serving

    Examples:
      | kind                 | status |
      | malformed XML        | 400    |
      | XML entity expansion | 400    |
      | wrong content type   | 415    |

  @id:TC_SEP2_I8_003 @dut:bms @req:SEP2-TLS-03 @security
  Scenario Outline: The site controller refuses non-compliant TLS sessions
    When the tester connects offering "<fault>"
    Then the server refuses the TLS session and serves nothing

    Examples:
      | fault                 |
      | wrong cipher          |
      | no client certificate |

  @id:TC_SEP2_I8_004 @dut:bms @req:SEP2-SERVER-05 @security
  Scenario: The site controller refuses an unregistered LFDI
    When the tester connects offering "unregistered LFDI"
    Then the server refuses the unregistered device with 403
