@interface:6 @protocol:ieee2030.5
Feature: The EV's charging logic over the internet path: OEM telematics under test, the tester as the PFE
  Interface 6: the OEM's telematics service runs the J2836/1 logic for the EV against the utility's
  IEEE 2030.5 server: optimized energy transfer from the 24-hour table, reservations, DR acknowledgements.

  @id:TC_SEP2_I6_001 @dut:telematics @req:SEP2-CLIENT-01 @req:SEP2-CLIENT-02
  Scenario: Telematics discovers the utility server and registers
    Given the tester is the IEEE 2030.5 PFE server publishing the "TOU" tariff
    When the telematics under test starts
    And the tester waits until the telematics has reserved
    Then the client discovers the server through DeviceCapability and reads its EndDevice, Registration and FunctionSetAssignments
    And every request body of the client is application/sep+xml and schema-valid

  @id:TC_SEP2_I6_002 @dut:telematics @req:SEP2-EV-01 @req:SEP2-EV-02 @req:SEP2-EV-03 @optimized_energy_transfer
  Scenario: Optimized energy transfer: telematics reserves the EV's charge with PEVInfo
    Given the tester is the IEEE 2030.5 PFE server publishing the "RTP" tariff
    When the telematics under test starts
    And the tester waits until the telematics has reserved
    Then the EV sends a FlowReservationRequest for the energy, power and window it needs
    And the EV reports PEVInfo with the time charge is needed and its charging needs

  @id:TC_SEP2_I6_003 @dut:telematics @req:SEP2-EV-04 @req:SEP2-EV-05 @direct_load_control
  Scenario: Telematics acknowledges a utility DR event and re-plans
    Given the tester is the IEEE 2030.5 PFE server publishing the "TOU" tariff
    When the telematics under test starts
    And the tester waits until the telematics has reserved
    And the tester publishes a DR event limiting EV charging
    And the tester waits until the telematics has re-planned
    Then the EV acknowledges the DR event and re-plans with a new FlowReservationRequest

  @id:TC_SEP2_I6_004 @dut:telematics @req:SEP2-TLS-01 @security
  Scenario: Telematics refuses a utility server offering another cipher suite
    Given the tester is the IEEE 2030.5 PFE server offering "wrong cipher"
    When the telematics under test starts
    And the tester watches the telematics for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP

  @id:TC_SEP2_I6_005 @dut:telematics @req:SEP2-EV-06 @real_time_pricing
  Scenario: Real-time pricing over the internet path: charging starts when planned
    Given the tester is the IEEE 2030.5 PFE server publishing the "RTP" tariff
    When the telematics under test starts
    And the tester waits until the telematics has started charging
    Then the EV starts charging no earlier than the cheap window it planned for
