@interface:3 @protocol:ieee2030.5
Feature: DC charger (DCPC) as an IEEE 2030.5 client of the utility, the tester as the PFE
  Interface 3: the DC power converter follows the same function sets (pricing, DR, messaging) as
  the AC flow, over mutual TLS.

  @id:TC_SEP2_I3_001 @dut:dc-charger @req:SEP2-CLIENT-01 @req:SEP2-TLS-02
  Scenario: The DC charger discovers the server and registers
    Given the tester is the IEEE 2030.5 PFE server publishing the "TOU" tariff
    When the dc-charger under test starts
    And the tester waits until the dc-charger has registered
    Then the client discovers the server through DeviceCapability and reads its EndDevice, Registration and FunctionSetAssignments
    And the client offers only TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8

  @id:TC_SEP2_I3_002 @dut:dc-charger @req:SEP2-CLIENT-03 @req:SEP2-CLIENT-04
  Scenario: The DC charger follows prices, DR and messages at the announced pollRate
    Given the tester is the IEEE 2030.5 PFE server publishing the "CPP" tariff
    When the dc-charger under test starts
    And the tester watches the dc-charger for 4 poll periods
    Then the client reads the tariff, the DR program and the messages
    And the client polls Time no faster than the announced pollRate

  @id:TC_SEP2_I3_003 @dut:dc-charger @req:SEP2-TLS-01 @security
  Scenario: The DC charger refuses a server whose chain is not under the SERCA
    Given the tester is the IEEE 2030.5 PFE server offering "untrusted chain"
    When the dc-charger under test starts
    And the tester watches the dc-charger for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP

  @id:TC_SEP2_I3_004 @dut:dc-charger @req:SEP2-TLS-01 @security
  Scenario: The DC charger refuses a server offering only TLS 1.3
    Given the tester is the IEEE 2030.5 PFE server offering "TLS 1.3 only"
    When the dc-charger under test starts
    And the tester watches the dc-charger for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP
