@interface:1 @protocol:ieee2030.5
Feature: AC charging over IEEE 2030.5 by an EV under test, the tester acting as the site's BMS server
  SAE J2836/1 AC charging flow on interface 1 (EV to EVSE/BMS): the site publishes prices and demand
  response for the next 24 hours; the EV builds its price/DR/TCIN table, chooses a plan, sends its
  FlowReservationRequest and PEVInfo, adjusts within the PIXIT window (15 min by default) when a DR
  event arrives, and starts charging when planned. Mutual TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8.

  @id:TC_SEP2_I1_001 @dut:ev @req:SEP2-CLIENT-01 @req:SEP2-CLIENT-02 @req:SEP2-TLS-02
  Scenario: The EV discovers the server, registers and reads its function set assignments
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "TOU" tariff
    When the ev under test starts
    And the tester waits until the ev has reserved
    Then the client discovers the server through DeviceCapability and reads its EndDevice, Registration and FunctionSetAssignments
    And the client offers only TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
    And every request body of the client is application/sep+xml and schema-valid

  @id:TC_SEP2_I1_002 @dut:ev @req:SEP2-EV-01 @req:SEP2-EV-02 @req:SEP2-EV-03 @req:SEP2-CLIENT-04 @time_of_use
  Scenario: Time-of-use pricing: the EV reserves its charge with PEVInfo
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "TOU" tariff
    When the ev under test starts
    And the tester waits until the ev has reserved
    Then the client reads the tariff, the DR program and the messages
    And the EV sends a FlowReservationRequest for the energy, power and window it needs
    And the EV reports PEVInfo with the time charge is needed and its charging needs

  @id:TC_SEP2_I1_003 @dut:ev @req:SEP2-EV-04 @req:SEP2-EV-05 @direct_load_control
  Scenario: Direct load control: the EV acknowledges a DR event and adjusts its plan
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "TOU" tariff
    When the ev under test starts
    And the tester waits until the ev has reserved
    And the tester publishes a DR event limiting EV charging
    And the tester waits until the ev has re-planned
    Then the EV acknowledges the DR event and re-plans with a new FlowReservationRequest

  @id:TC_SEP2_I1_004 @dut:ev @req:SEP2-EV-06 @real_time_pricing
  Scenario: Real-time pricing: the EV starts charging when planned, in the cheap window
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "RTP" tariff
    When the ev under test starts
    And the tester waits until the ev has started charging
    Then the EV starts charging no earlier than the cheap window it planned for

  @id:TC_SEP2_I1_005 @dut:ev @req:SEP2-EV-07 @critical_peak_pricing
  Scenario: Critical peak pricing: the EV plans its charge outside the critical peak
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "CPP" tariff
    When the ev under test starts
    And the tester waits until the ev has reserved
    Then the EV plans its charge outside the critical peak

  @id:TC_SEP2_I1_006 @dut:ev @req:SEP2-CLIENT-03
  Scenario: The EV polls no faster than the server's pollRate
    Given the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "TOU" tariff
    When the ev under test starts
    And the tester watches the ev for 4 poll periods
    Then the client polls Time no faster than the announced pollRate

  @id:TC_SEP2_I1_007 @dut:ev @req:SEP2-TLS-01 @security
  Scenario Outline: The EV refuses a server with a non-compliant TLS configuration
    Given the tester is the IEEE 2030.5 BMS server offering "<fault>"
    When the ev under test starts
    And the tester watches the ev for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP

    Examples:
      | fault           |
      | wrong cipher    |
      | TLS 1.3 only    |
      | untrusted chain |
