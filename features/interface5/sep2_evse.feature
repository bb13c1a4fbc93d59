@interface:5 @protocol:ieee2030.5
Feature: EVSE as an IEEE 2030.5 client of the site controller, the tester as the BMS
  Interface 5 (EVSE side of the AC flow): the EVSE reads the site's prices, DR events and messages
  to bridge them to the EV.

  @id:TC_SEP2_I5_001 @dut:evse @req:SEP2-CLIENT-01 @req:SEP2-TLS-02
  Scenario: The EVSE discovers the site controller and registers
    Given the tester is the IEEE 2030.5 BMS server publishing the "TOU" tariff
    When the evse under test starts
    And the tester waits until the evse has registered
    Then the client discovers the server through DeviceCapability and reads its EndDevice, Registration and FunctionSetAssignments
    And the client offers only TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8

  @id:TC_SEP2_I5_002 @dut:evse @req:SEP2-CLIENT-04 @req:SEP2-CLIENT-03
  Scenario: The EVSE follows the site's prices, DR events and messages
    Given the tester is the IEEE 2030.5 BMS server publishing the "TOU" tariff
    When the evse under test starts
    And the tester publishes a DR event limiting EV charging
    And the tester watches the evse for 4 poll periods
    Then the client reads the tariff, the DR program and the messages
    And the client polls Time no faster than the announced pollRate

  @id:TC_SEP2_I5_003 @dut:evse @req:SEP2-TLS-01 @security
  Scenario: The EVSE refuses a site controller offering only TLS 1.3
    Given the tester is the IEEE 2030.5 BMS server offering "TLS 1.3 only"
    When the evse under test starts
    And the tester watches the evse for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP

  @id:TC_SEP2_I5_004 @dut:evse @req:SEP2-DISC-01 @pics:sep2.dnssd
  Scenario: The EVSE finds the site controller by DNS-SD
    Given the tester is the IEEE 2030.5 BMS server publishing the "TOU" tariff
    When the evse under test starts
    And the tester waits until the evse has registered
    Then the client looks for its server by a DNS-SD query for the IEEE 2030.5 service before it connects
