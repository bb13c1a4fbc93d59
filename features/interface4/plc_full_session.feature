@interface:4 @interface:2 @full_session @plc @pics:slac @pics:pilot
Feature: One PLC link for the whole DC charging session
  As on a real cable, the control pilot, SLAC, SDP and the DIN SPEC 70121 session share one link:
  plug-in (state B) and the 5 % offer start SLAC, the match brings the Green PHY link up, and only then
  does the EV discover the charger with SDP and run the DC session over IP. One capture holds every
  layer on one timeline.

  @id:TC_PLC_SECC_001 @dut:secc @req:PLC-SESSION-01 @req:SLAC-EVSE-01 @req:SDP-SECC-02 @req:DIN-SECC-01
  @req:DIN-SECC-02 @req:DIN-SECC-03 @req:DIN-SECC-TIME-01 @req:DIN-SECC-TIME-02
  Scenario: A charger brings the PLC link up, then serves SDP and a complete DIN SPEC 70121 session on it
    Given the charger under test runs its whole stack on the PLC link
    And the tester is an EV on the PLC link
    When the tester plugs in as an EV and brings the PLC link up with SLAC
    And the tester discovers the SECC with SDP and charges through a complete DIN SPEC 70121 session
    Then plug-in, the 5 % offer, SLAC, SDP and the DIN SPEC 70121 session follow one another on the one link
    And the EVSE completes the matching sequence
    And every SECCDiscoveryRes is well formed
    And the SECC's responses follow the DIN SPEC 70121 DC session sequence
    And the SECC answers every request with an OK code and the session's SessionID
    And the SECC answers every request within V2G_EVCC_Msg_Timeout
    And the SECC answers every CurrentDemandReq within its performance time
    And every DIN SPEC 70121 frame of the SECC decodes

  @id:TC_PLC_EVCC_001 @dut:evcc @req:PLC-SESSION-01 @req:SLAC-EV-01 @req:SDP-EVCC-03 @req:DIN-EVCC-01
  @req:DIN-EVCC-02 @req:DIN-EVCC-03 @req:DIN-EVCC-07
  Scenario: An EV brings the PLC link up, then discovers the charger and charges with DIN SPEC 70121 on it
    Given the tester is an EVSE on the PLC link
    And the tester is a DIN SPEC 70121 SECC on the link
    When the EV under test is plugged in with its whole PLC stack and the tester offers 5 %
    And the tester waits up to 30 s for the EV to match
    And the tester serves the EVCC's DIN SPEC 70121 session
    Then plug-in, the 5 % offer, SLAC, SDP and the DIN SPEC 70121 session follow one another on the one link
    And the EV runs the matching sequence to CM_SLAC_MATCH.CNF
    And every SECCDiscoveryReq of the EVCC is well formed
    And the EVCC negotiates DIN SPEC 70121 and continues with DIN messages
    And the EVCC's requests follow the DIN SPEC 70121 DC session sequence
    And the EVCC's requests carry the session's SessionID
    And the EVCC ends the session with SessionStopReq
    And every DIN SPEC 70121 frame of the EVCC decodes
