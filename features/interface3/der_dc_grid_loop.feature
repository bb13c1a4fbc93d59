@interface:3 @interface:4 @protocol:ieee2030.5 @protocol:iso15118-2 @der @bpt
Feature: The grid-to-EV loop: the PFE's DER control through the DC charger (DCPC) to the EV's V2G discharge
  SAE J2836/3 DC DER: the PFE/BMS controls the EV's discharge through the DC power converter over IEEE
  2030.5 (interface 3), and the DCPC asks the EV for it with SAE J2847/2 V2G on ISO 15118-2 (interface 4,
  negative EVSE limits in CurrentDemandRes). The DCPC under test is both; the tester is both the PFE's
  DER server and the EV, and judges both links from the one capture of the run: the discharge the
  CurrentDemandRes ask for while the control is in effect, the latency from the control's effective
  start to the first of them (PIXIT der_grid_loop_latency_s), the DCPC's DERControlResponses, and the
  export its metering mirror shows. Times are server seconds on the lab clock (PIXIT sep2_clock_speedup);
  opModFixedW is hundredths of a percent of the setMaxDischargeRateW the DCPC declares (5000: half of it).

  @id:TC_DER_I3_001 @dut:dc-charger @pics:bpt.v2g
  @req:DER-DCPC-01 @req:DER-DCPC-02 @req:DER-RSP-01 @req:DER-DCPC-03
  Scenario: A discharge control of the PFE becomes the EV's V2G discharge within the loop latency
    Given the tester is the IEEE 2030.5 DER utility server on the internet path
    And the DER site adds program 2 with primacy 10
    And the dc-charger under test is running as the DC power converter of the grid-to-EV loop
    And the DER site waits until the dc-charger is authorized
    And the tester is an ISO 15118-2 EV using SAE J2847/2 V2G that found the SECC with SDP
    And the tester EV's pack holds 60 kWh at 50 % state of charge, 20 % its minimum
    When the tester EV starts charging and reaches energy transfer
    And the DER site publishes control "discharge" in program 2 from +60 s for 600 s: opModFixedW=5000
    And the DER site waits until control "discharge" has ended
    And the tester EV's user stops charging
    Then the dc-charger asks the EV for the commanded discharge while control "discharge" is in effect
    And the dc-charger passes control "discharge" to the EV within the loop latency
    And the dc-charger answers every control as the schedule calls for
    And the dc-charger mirrors the export as negative real power of the commanded size
