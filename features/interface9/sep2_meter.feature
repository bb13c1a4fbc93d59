@interface:9 @protocol:ieee2030.5
Feature: The meter as an IEEE 2030.5 metering mirror client, the tester as the PFE
  Interface 9: the EVSE's meter creates a MirrorUsagePoint and posts its readings to the utility.

  @id:TC_SEP2_I9_001 @dut:meter @req:SEP2-METER-01 @req:SEP2-METER-02 @req:SEP2-CLIENT-02
  Scenario: The meter mirrors its readings with MirrorUsagePoint
    Given the tester is the IEEE 2030.5 PFE server publishing the "TOU" tariff
    When the meter under test starts
    And the tester waits until the meter has mirrored its readings
    Then the meter creates a MirrorUsagePoint and posts readings no faster than the pollRate
    And every request body of the client is application/sep+xml and schema-valid

  @id:TC_SEP2_I9_002 @dut:meter @req:SEP2-CLIENT-01
  Scenario: The meter discovers the server and registers before mirroring
    Given the tester is the IEEE 2030.5 PFE server publishing the "TOU" tariff
    When the meter under test starts
    And the tester waits until the meter has registered
    Then the client discovers the server through DeviceCapability and reads its EndDevice, Registration and FunctionSetAssignments

  @id:TC_SEP2_I9_003 @dut:meter @req:SEP2-TLS-01 @security
  Scenario: The meter refuses a server offering another cipher suite
    Given the tester is the IEEE 2030.5 PFE server offering "wrong cipher"
    When the meter under test starts
    And the tester watches the meter for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP

  @id:TC_SEP2_I9_004 @dut:meter @req:SEP2-TLS-01 @security
  Scenario: The meter refuses a server whose chain is not under the SERCA
    Given the tester is the IEEE 2030.5 PFE server offering "untrusted chain"
    When the meter under test starts
    And the tester watches the meter for 2 poll periods
    Then the client refuses the TLS session and sends no HTTP
