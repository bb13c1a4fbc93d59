@interface:7 @protocol:ieee2030.5
Feature: The utility's IEEE 2030.5 server under test (pricing, DR and user messaging), the tester as client
  Interface 7: the PFE server publishes the 24-hour prices, DR programs and text messages the user
  is notified of. Its resources must conform, its links resolve, bad requests get the right status
  while it keeps serving, and its TLS policy admits only compliant, registered clients.

  Background:
    Given the IEEE 2030.5 pfe-server under test is running

  @id:TC_SEP2_I7_001 @dut:pfe-server @req:SEP2-SERVER-01 @req:SEP2-SERVER-02 @req:SEP2-TLS-04
  Scenario: Every resource reachable from DeviceCapability conforms
    When the tester walks the resource tree from DeviceCapability
    Then every response is 200 application/sep+xml, schema-valid, and every link resolves
    And the server exposes Time, EndDeviceList, TariffProfileList, DemandResponseProgramList, MessagingProgramList and TextMessageList
    And the server negotiates TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8

  @id:TC_SEP2_I7_002 @dut:pfe-server @req:SEP2-SERVER-03 @req:SEP2-SERVER-04 @negative
  Scenario Outline: A bad request body gets the right status and the server keeps serving
    When the tester sends <kind> to the server
    Then the server answers <status> and keeps serving

    Examples:
      | kind                 | status |
      | malformed XML        | 400    |
      | schema-invalid XML   | 400    |
      | XML entity expansion | 400    |
      | oversized body       | 413    |
      | wrong content type   | 415    |

  @id:TC_SEP2_I7_003 @dut:pfe-server @req:SEP2-TLS-03 @security
  Scenario Outline: The server refuses non-compliant TLS sessions
    When the tester connects offering "<fault>"
    Then the server refuses the TLS session and serves nothing

    Examples:
      | fault                 |
      | wrong cipher          |
      | TLS 1.3 only          |
      | no client certificate |
      | untrusted chain       |

  @id:TC_SEP2_I7_004 @dut:pfe-server @req:SEP2-SERVER-05 @security
  Scenario: The server refuses a device whose LFDI is not registered
    When the tester connects offering "unregistered LFDI"
    Then the server refuses the unregistered device with 403

  @id:TC_SEP2_I7_005 @dut:pfe-server @req:SEP2-DISC-02 @pics:sep2.dnssd
  Scenario: The server advertises itself by DNS-SD
    When the tester browses DNS-SD for IEEE 2030.5 servers
    Then the server advertises _smartenergy._tcp with its port and a TXT record starting with txtvers that names dcap and https
