@interface:4 @protocol:iso15118-20
Feature: ISO 15118-20 DC charging by an EVCC under test, the tester acting as charger
  The EVCC under test discovers the tester's SECC with SDP and charges in ISO 15118-20 DC with external
  identification and Scheduled control. The tester is the reference -20 SECC (DC charger model, the -20
  SECC core offering -20 DC only in supportedAppProtocol) plus faults: a foreign SessionID, a FAILED code,
  late and malformed responses, and the EVSE's Terminate notification. The EVCC's DC_ChargeLoopRes timeout is
  0.5 s (REFERENCE.md section 5), the lab's PIXIT ISO20:V2G_EVCC_Msg_Timeout_ChargeLoop.

  @id:TC_ISO20_EVCC_001 @dut:evcc @full_session @req:ISO20-EVCC-01 @req:ISO20-EVCC-02 @req:ISO20-EVCC-05
  Scenario: A complete ISO 15118-20 DC charging session
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC offers ISO 15118-20 DC and continues in it once selected
    And the EVCC's requests follow the ISO 15118-20 DC session sequence with its SessionID
    And the tester answered every DC_ChargeLoopReq within the EVCC's charge-loop timeout

  @id:TC_ISO20_EVCC_002 @dut:evcc @negative @req:ISO20-EVCC-04
  Scenario Outline: A response with a foreign SessionID ends the EVCC's session
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester answers <response> number 1 with a foreign SessionID
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test goes no further than <response> in ISO 15118-20

    Examples:
      | response               |
      | AuthorizationSetupRes  |
      | ServiceDiscoveryRes    |

  @id:TC_ISO20_EVCC_003 @dut:evcc @negative @req:ISO20-EVCC-03
  Scenario: A FAILED response ends the EVCC's session
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester answers ServiceSelectionRes number 1 with response code "FAILED"
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test goes no further than ServiceSelectionRes in ISO 15118-20

  @id:TC_ISO20_EVCC_004 @dut:evcc @negative @req:ISO20-EVCC-05
  Scenario: A DC_ChargeLoopRes later than the EVCC's 0.5 s timeout ends the session
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester delays DC_ChargeLoopRes number 2 to just over the EVCC's -20 timeout
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test sends at most 2 ISO 15118-20 DC_ChargeLoopReq

  @id:TC_ISO20_EVCC_005 @dut:evcc @req:ISO20-EVCC-05
  Scenario: A DC_ChargeLoopRes just within the EVCC's 0.5 s timeout keeps the session going
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester delays DC_ChargeLoopRes number 2 to just under the EVCC's -20 timeout
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test sends more than 2 ISO 15118-20 DC_ChargeLoopReq

  @id:TC_ISO20_EVCC_006 @dut:evcc @negative @req:ISO20-EVCC-06
  Scenario Outline: A response that does not decode ends the EVCC's session
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester sends ServiceDiscoveryRes number 1 as <defect>
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test goes no further than the ServiceDiscoveryRes that does not decode

    Examples:
      | defect          |
      | malformed EXI   |
      | truncated V2GTP |

  @id:TC_ISO20_EVCC_007 @dut:evcc @negative @req:ISO20-EVCC-07
  Scenario: The EVSE notifies Terminate during the charge loop
    Given the tester is an ISO 15118-20 SECC offering DC on the link
    And the ISO 15118-20 tester notifies Terminate in DC_ChargeLoopRes number 2
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC under test stops energy transfer and ends the ISO 15118-20 session
    And the EVCC under test sends at most 3 ISO 15118-20 DC_ChargeLoopReq
