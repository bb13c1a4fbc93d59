@interface:4 @protocol:iso15118-20 @bpt @pics:iso20.dc_bpt
Feature: ISO 15118-20 DC bidirectional power transfer (DC_BPT), both roles
  DC_BPT (ServiceID 6) with Scheduled control: the BPT parameter set (BPTChannel, GeneratorMode), discharge
  limits on both sides in DC_ChargeParameterDiscovery, a schedule tuple with a discharging schedule
  (negative power), PowerDelivery on the discharge channel and a charge loop with negative target and
  present currents, down to the EV's minimum SoC (the reference EV's pack: 79 % to 76 %). Negatives: a
  discharging loop without the EV's discharge limits, and a discharge in a plain DC session.

  @id:TC_ISO20_BPT_001 @dut:secc @full_session @req:ISO20-BPT-01 @req:ISO20-BPT-02 @req:ISO20-BPT-03
  @req:ISO20-SECC-03 @req:ISO20-SECC-TIME-01
  Scenario: A complete DC_BPT discharge session with an SECC under test
    Given the SECC under test is running
    And the tester is an ISO 15118-20 DC_BPT EV that found the SECC with SDP
    When the tester runs a complete ISO 15118-20 session
    Then the SECC's responses follow the ISO 15118-20 DC session sequence
    And the SECC answers every ISO 15118-20 request with an OK code and the session's SessionID
    And the SECC answers every ISO 15118-20 request within its performance time
    And the tester EV discharged in the DC_BPT session and stayed above its minimum SoC

  @id:TC_ISO20_BPT_002 @dut:evcc @full_session @req:ISO20-BPT-01 @req:ISO20-BPT-02 @req:ISO20-BPT-03
  @req:ISO20-EVCC-02 @req:ISO20-EVCC-05
  Scenario: A complete DC_BPT discharge session with an EVCC under test
    Given the tester is an ISO 15118-20 SECC offering DC and DC_BPT on the link
    When the EVCC under test is plugged in
    And the tester serves the EVCC's ISO 15118-20 session
    Then the EVCC's requests follow the ISO 15118-20 DC session sequence with its SessionID
    And the tester answered every DC_ChargeLoopReq within the EVCC's charge-loop timeout
    And the EVCC under test discharged in the DC_BPT session and stayed above its minimum SoC

  @id:TC_ISO20_BPT_003 @dut:secc @negative @req:ISO20-BPT-04
  Scenario: A discharging DC_BPT charge loop without the EV's discharge limits is refused
    Given the SECC under test is running
    And the tester is an ISO 15118-20 DC_BPT EV that found the SECC with SDP
    When the ISO 15118-20 tester leaves the discharge limits out of DC_ChargeLoopReq number 2
    Then the SECC under test answers that ISO 15118-20 DC_ChargeLoopReq with response code "FAILED_WrongChargeParameter"

  @id:TC_ISO20_BPT_004 @dut:secc @negative @req:ISO20-BPT-05
  Scenario: A discharge asked for in a plain DC session is refused
    Given the SECC under test is running
    And the tester is an ISO 15118-20 DC EV that found the SECC with SDP
    When the ISO 15118-20 tester asks for a discharge in DC_ChargeLoopReq number 2
    Then the SECC under test answers that ISO 15118-20 DC_ChargeLoopReq with response code "FAILED_WrongChargeParameter"
