@interface:1 @protocol:ieee2030.5 @der
Feature: AC DER by an EV under test: its on-board inverter as an IEEE 2030.5 DER client of the site
  SAE J2836/3 AC DER flow on interface 1: the tester is the site's EVSE/BMS serving the DER function set
  behind the EVSE bridge (program 1 is the site's SAE J3072 authorization, README AC DER). The EV
  registers its DER (capability, settings, status, availability), is authorized (or refused) for
  discharge, follows the site's DER controls and answers them, mirrors its signed real power and tells
  its user. The lab clock runs fast (PIXIT sep2_clock_speedup); times below are server seconds and the
  DER program list's pollRate is 120 s. Every verdict comes from the decrypted capture, the responses
  against the DER oracle over what the capture shows the site published.

  @id:TC_DER_I1_001 @dut:ev @req:DER-CLIENT-01 @req:DER-CLIENT-02
  Scenario: The EV finds its DER programs and registers its DER
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    When the EV under test starts as a DER client
    And the DER site waits until the EV has registered its DER
    And the DER site watches the EV for 2 poll periods
    Then the EV finds its DER programs through its function set assignments
    And the EV writes its DER capability, settings, status and availability

  @id:TC_DER_I1_002 @dut:ev @req:DER-EV-01
  Scenario: The EV declares an EV inverter whose settings stay within its ratings
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    When the EV under test starts as a DER client
    And the DER site waits until the EV has registered its DER
    Then the EV declares an EV inverter whose settings stay within its ratings

  @id:TC_DER_I1_003 @dut:ev @req:DER-J3072-01 @j3072
  Scenario: No export before the site's J3072 authorization, export after
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    And the DER site publishes control "discharge" in program 2 from +0 s for 1800 s: opModFixedW=5000
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site waits until control "discharge" has ended
    Then the EV does not export before the site authorizes it, and exports after

  @id:TC_DER_I1_004 @dut:ev @req:DER-J3072-02 @req:DER-MSG-01 @j3072 @negative
  Scenario: The site refuses the EV's settings: the EV acknowledges the refusal and never exports
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge with a site export limit of 3000 W
    And the DER site adds program 2 with primacy 10
    And the DER site publishes control "discharge" in program 2 from +0 s for 900 s: opModFixedW=5000
    When the EV under test starts as a DER client
    And the DER site waits until the EV has acknowledged the site's messages
    And the DER site waits until control "discharge" has ended
    Then the EV never exports while the site refuses its authorization
    And the EV acknowledges the site's text messages

  @id:TC_DER_I1_005 @dut:ev @req:DER-RSP-01 @req:DER-CTL-01 @req:DER-METER-01
  Scenario: Scheduled discharge: received, started and completed in their windows, export as commanded
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 600 s: opModFixedW=5000
    And the DER site waits until control "discharge" has ended
    Then the EV answers every control as the schedule calls for
    And the EV exports as its controls command
    And the EV mirrors its real power, export as negative readings

  @id:TC_DER_I1_006 @dut:ev @req:DER-CTL-02
  Scenario: opModMaxLimW caps the export below the fixed-power command
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "capped" in program 2 from +240 s for 600 s: opModFixedW=10000, opModMaxLimW=2500
    And the DER site waits until control "capped" has ended
    Then the EV keeps its export under the opModMaxLimW cap

  @id:TC_DER_I1_007 @dut:ev @req:DER-CTL-03 @req:DER-RSP-01 @negative
  Scenario: opModEnergize false in the middle of a discharge stops the export
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 1200 s: opModFixedW=5000
    And the DER site publishes control "pause" in program 2 from +600 s for 360 s: opModEnergize=false
    And the DER site waits until control "discharge" has ended
    Then the EV stops exporting while opModEnergize is false
    And the EV answers every control as the schedule calls for

  @id:TC_DER_I1_008 @dut:ev @req:DER-CTL-03 @negative
  Scenario: opModConnect false in the middle of a discharge stops the export
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 1200 s: opModFixedW=5000
    And the DER site publishes control "disconnect" in program 2 from +600 s for 360 s: opModConnect=false
    And the DER site waits until control "discharge" has ended
    Then the EV stops exporting while opModConnect is false

  @id:TC_DER_I1_009 @dut:ev @req:DER-CTL-04
  Scenario: The EV ramps its export over the control's ramp time
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "ramped" in program 2 from +240 s for 1200 s: opModFixedW=10000, rampTms=60000
    And the DER site waits until control "ramped" has ended
    Then the EV ramps its export within the control's ramp time

  @id:TC_DER_I1_010 @dut:ev @req:DER-EVT-01 @req:DER-RSP-01
  Scenario: A randomized start falls within the randomization window
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "randomized" in program 2 from +240 s for 600 s: opModFixedW=5000, randomizeStart=300
    And the DER site waits until control "randomized" has ended
    Then the EV starts control "randomized" within its randomization window
    And the EV answers every control as the schedule calls for

  @id:TC_DER_I1_011 @dut:ev @req:DER-EVT-02
  Scenario: A newer overlapping control of the same program supersedes the older one
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "older" in program 2 from +360 s for 600 s: opModFixedW=3000
    # The newer control is created a poll period later: its creationTime decides between equal primacy.
    And the DER site watches the EV for 1 poll periods
    And the DER site publishes control "newer" in program 2 from +480 s for 600 s: opModFixedW=6000
    And the DER site waits until control "newer" has ended
    Then the EV supersedes control "older" for the newer control of its program

  @id:TC_DER_I1_012 @dut:ev @req:DER-EVT-03
  Scenario: The control of the higher-priority program prevails
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 20
    And the DER site adds program 3 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "utility" in program 2 from +360 s for 600 s: opModFixedW=3000
    And the DER site publishes control "site" in program 3 from +600 s for 600 s: opModFixedW=6000
    And the DER site waits until control "site" has ended
    Then the EV supersedes control "utility" for the control of the higher-priority program

  @id:TC_DER_I1_013 @dut:ev @req:DER-EVT-04 @negative
  Scenario: A control the site cancels while active is stopped and answered cancelled
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 1200 s: opModFixedW=5000
    And the DER site waits until control "discharge" has started
    And the DER site cancels control "discharge"
    And the DER site waits until control "discharge" has ended
    Then the EV answers control "discharge" cancelled

  @id:TC_DER_I1_014 @dut:ev @req:DER-EVT-04 @negative
  Scenario: A control cancelled with randomization ends within its randomization and is answered cancelled
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "randomized" in program 2 from +240 s for 1200 s: opModFixedW=5000, randomizeDuration=240
    And the DER site waits until control "randomized" has started
    And the DER site cancels control "randomized" with randomization
    And the DER site waits until control "randomized" has ended
    Then the EV answers control "randomized" cancelled

  @id:TC_DER_I1_015 @dut:ev @req:DER-USER-01 @negative
  Scenario: The user opts out of a control before it starts
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "unwanted" in program 2 from +480 s for 600 s: opModFixedW=5000, responseRequired=07, description=[user opts out]
    And the DER site waits until control "unwanted" has ended
    Then the EV answers control "unwanted" opted out before it starts

  @id:TC_DER_I1_016 @dut:ev @req:DER-EV-02 @negative
  Scenario: A discharge that would leave too little for the next drive is refused or limited
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "drain" in program 2 from +240 s for 28800 s: opModFixedW=10000, responseRequired=07
    And the DER site waits until control "drain" has started
    And the DER site watches the EV for 2 poll periods
    Then the EV opts out of control "drain", fully or partly, for its next drive

  @id:TC_DER_I1_017 @dut:ev @req:DER-EVT-05 @negative
  Scenario: A control that has already ended is answered expired and never started
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "stale" in program 2 from -1200 s for 600 s: opModFixedW=5000
    And the DER site watches the EV for 3 poll periods
    Then the EV answers control "stale" expired

  @id:TC_DER_I1_018 @dut:ev @req:DER-EVT-06 @negative
  Scenario: A control whose only mode the EV does not support is answered not supported
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "reactive" in program 2 from +240 s for 600 s: opModTargetVar=1000
    And the DER site watches the EV for 3 poll periods
    Then the EV answers control "reactive" not supported

  @id:TC_DER_I1_019 @dut:ev @req:DER-RSP-02 @negative
  Scenario: A control with responseRequired 00 gets no response
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "silent" in program 2 from +240 s for 600 s: opModFixedW=5000, responseRequired=00
    And the DER site waits until control "silent" has ended
    Then the EV posts no response to control "silent"

  @id:TC_DER_I1_020 @dut:ev @req:DER-POLL-01
  Scenario: The EV adopts a changed pollRate
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    When the EV under test starts as a DER client
    And the DER site waits until the EV has registered its DER
    And the DER site changes the pollRate to 240 s
    And the DER site watches the EV for 4 poll periods
    Then the EV polls its DER programs no faster than the new pollRate

  @id:TC_DER_I1_021 @dut:ev @req:DER-COMM-01 @negative
  Scenario: Loss of communication: the EV falls back to the default control
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +240 s for 1500 s: opModFixedW=5000
    And the DER site waits until control "discharge" has started
    And the DER site becomes unreachable for 720 s
    And the DER site waits until control "discharge" has ended
    Then the EV falls back to the default control while the site is unreachable

  @id:TC_DER_I1_022 @dut:ev @req:DER-MSG-01
  Scenario: The user is told of a DER event
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "discharge" in program 2 from +480 s for 600 s: opModFixedW=5000
    And the DER site tells the user "Your EV will discharge at 50 % for 10 minutes"
    And the DER site waits until the EV has acknowledged the site's messages
    Then the EV acknowledges the site's text messages

  @id:TC_DER_I1_023 @dut:ev @req:DER-CTL-05 @req:DER-RSP-01
  Scenario: A fixed power factor: the EV's reactive power gives the commanded power factor, injecting and absorbing
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "inject" in program 2 from +240 s for 600 s: opModFixedW=5000, opModFixedPFInjectW=0.90/inject
    And the DER site publishes control "absorb" in program 2 from +840 s for 600 s: opModFixedW=-5000, opModFixedPFAbsorbW=0.95/absorb
    And the DER site waits until control "absorb" has ended
    Then the EV's real and reactive power give the commanded fixed power factor
    And the EV answers every control as the schedule calls for

  @id:TC_DER_I1_024 @dut:ev @req:DER-DRLC-01 @req:DER-RSP-01
  Scenario: A DRLC event and a DER control over the same period: the EV honours both
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "charge" in program 2 from +240 s for 1500 s: opModFixedW=-10000
    And the DER site publishes a DRLC event "peak" from +600 s for 600 s limiting the load to 45 %
    And the DER site waits until control "charge" has ended
    Then the EV acknowledges DRLC event "peak" as received
    And the EV follows control "charge" with its import capped by DRLC event "peak"
    And the EV answers every control as the schedule calls for

  @id:TC_DER_I1_025 @dut:ev @req:DER-FLOW-01 @pics:der.flow_reservation
  Scenario: The EV asks for a discharge window and discharges only inside the window the site grants
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10 whose description asks the EV to offer a discharge window
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site waits until the EV's discharge window has ended
    Then the EV asks for a discharge window and discharges only inside the window the site granted

  @id:TC_DER_I1_026 @dut:ev @req:DER-CTL-06 @req:DER-RSP-01
  Scenario: Volt-var: the EV's reactive power follows the curve as the grid voltage at its connection changes
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    And the DER site adds a volt-var curve to program 2 with points 92/44, 98/0, 102/0, 108/-44
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "volt-var" in program 2 from +240 s for 1800 s: opModVoltVar=/derp/2/dc/1
    And the lab grid at the EV's connection is 250.8 V from +840 s
    And the lab grid at the EV's connection is 228 V from +1380 s
    And the DER site waits until control "volt-var" has ended
    Then the EV's reactive power follows the volt-var curve at the grid voltage it reports
    And the EV answers every control as the schedule calls for

  @id:TC_DER_I1_027 @dut:ev @req:DER-CTL-07 @req:DER-RSP-01
  Scenario: Freq-watt: the EV's export follows the curve as the grid frequency at its connection rises
    Given the tester is the IEEE 2030.5 DER site server behind an EVSE bridge
    And the DER site adds program 2 with primacy 10
    And the DER site adds a freq-watt curve to program 2 with points 59.00/100, 60.10/100, 60.60/0
    When the EV under test starts as a DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "freq-watt" in program 2 from +240 s for 1800 s: opModFixedW=5000, opModFreqWatt=/derp/2/dc/1
    And the lab grid at the EV's connection is 60.4 Hz from +840 s
    And the lab grid at the EV's connection is 60.5 Hz from +1380 s
    And the DER site waits until control "freq-watt" has ended
    Then the EV's export follows the freq-watt curve at the grid frequency it reports
    And the EV answers every control as the schedule calls for
