@interface:4 @protocol:iso15118-2 @bpt
Feature: SAE J2847/2 DC bidirectional power transfer (V2H, V2G) on ISO 15118-2, both roles
  The current SAE J2847/2 edition carries DC discharge over ISO 15118-2 as two value-added services, V2H
  (ServiceID 28472) and V2G (28473), offered in ServiceDiscoveryRes and selected in
  PaymentServiceSelectionReq, with discharge expressed as negative PhysicalValues in ChargeParameterDiscovery
  and CurrentDemand, as open implementations realise it (the SAE text is not public; every requirement here
  is unverified against it). The tester is the ISO 15118-2 tester with a bidirectional pack (as EV) or a
  power stage that sinks current, a home load and a grid discharge request (as SECC).

  @id:TC_BPT_SECC_001 @dut:secc @bpt_session @pics:bpt.v2h
  @req:J2847-2-BPT-01 @req:J2847-2-BPT-02 @req:J2847-2-BPT-03
  Scenario: A V2H session: the EV discharges to serve the home load, down to its minimum SoC
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV using SAE J2847/2 V2H that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC accepted the tester's selection of SAE J2847/2 V2H
    And the SECC answers the first V2H ChargeParameterDiscoveryReq Ongoing and accepts the discharge limits
    And the SECC sinks the EV's discharge in CurrentDemand to a clean end of the V2H session

  @id:TC_BPT_SECC_002 @dut:secc @bpt_session @pics:bpt.v2g
  @req:J2847-2-BPT-01 @req:J2847-2-BPT-04
  Scenario: A V2G session: the SECC asks for discharge and the EV gives it
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV using SAE J2847/2 V2G that found the SECC with SDP
    When the tester charges through a complete session
    Then the SECC accepted the tester's selection of SAE J2847/2 V2G
    And the SECC asks for discharge with negative limits in CurrentDemandRes
    And the SECC sinks the EV's discharge in CurrentDemand to a clean end of the V2G session

  @id:TC_BPT_SECC_003 @dut:secc @negative @req:J2847-2-BPT-05
  Scenario: A discharge request in a session that selected no SAE J2847/2 service is refused
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV that found the SECC with SDP
    When the tester sends CurrentDemandReq number 2 with a negative EVTargetCurrent
    Then the SECC answers the negative CurrentDemandReq with response code "FAILED_WrongChargeParameter"

  @id:TC_BPT_SECC_004 @dut:secc @negative @pics:bpt.v2h @req:J2847-2-BPT-02
  Scenario: A V2H ChargeParameterDiscoveryReq with positive limits is refused
    Given the SECC under test is running
    And the tester is an ISO 15118-2 EV using SAE J2847/2 V2H that found the SECC with SDP
    When the tester sends ChargeParameterDiscoveryReq number 2 with positive V2H limits
    Then the SECC answers the V2H ChargeParameterDiscoveryReq with response code "FAILED_WrongEnergyTransferMode"

  @id:TC_BPT_EVCC_001 @dut:evcc @bpt_session @pics:bpt.v2h @req:J2847-2-BPT-06
  Scenario: A V2H session: the EVCC selects V2H and discharges to serve the home load
    Given the tester is an ISO 15118-2 SECC offering SAE J2847/2 V2H on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC selects SAE J2847/2 V2H beside the charge service
    And the EVCC declares its minimum SoC and negative limits in ChargeParameterDiscoveryReq
    And the EVCC discharges with a negative EVTargetCurrent to a clean end of the V2H session

  @id:TC_BPT_EVCC_002 @dut:evcc @bpt_session @pics:bpt.v2g @req:J2847-2-BPT-07
  Scenario: A V2G session: the EVCC discharges when the SECC asks for it
    Given the tester is an ISO 15118-2 SECC offering SAE J2847/2 V2G on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC selects SAE J2847/2 V2G beside the charge service
    And the EVCC discharges with a negative EVTargetCurrent to a clean end of the V2G session

  @id:TC_BPT_EVCC_003 @dut:evcc @negative @pics:bpt.v2h @req:J2847-2-BPT-08
  Scenario: The EVCC stops discharging at its minimum SoC
    Given the tester is an ISO 15118-2 SECC offering SAE J2847/2 V2H on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC stops discharging at the minimum SoC it declared

  @id:TC_BPT_EVCC_004 @dut:evcc @negative @req:J2847-2-BPT-09
  Scenario: The EVCC does not discharge when the charger offers no SAE J2847/2 service
    Given the tester is an ISO 15118-2 SECC on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's session
    Then the EVCC selects no SAE J2847/2 service and does not discharge
