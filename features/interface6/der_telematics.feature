@interface:6 @protocol:ieee2030.5 @der
Feature: AC DER through the EV's telematics: the user is told of DER events and of an opt-out
  SAE J2836/3 AC DER flow on interface 6: the OEM's telematics service is the EV's DER client over the
  internet path; it reads the EV's DER programs from the utility's server, tells the user of each event
  and of an opt-out (it acknowledges the server's TextMessages: interfaces 7/8 show them) and carries
  the user's answer back (a DERControlResponse). The tester is the utility's IEEE 2030.5 DER server (no
  EVSE bridge); program 1 is the J3072 authorization program as on interface 1 (README AC DER). Times
  are server seconds on the lab's fast clock; every verdict comes from the decrypted capture.

  @id:TC_DER_I6_001 @dut:telematics @req:DER-MSG-01 @req:DER-USER-01 @negative
  Scenario: The user is told of a DER event, opts out through the telematics and is told of the opt-out
    Given the tester is the IEEE 2030.5 DER utility server on the internet path
    And the DER site adds program 2 with primacy 10
    When the telematics under test starts as the EV's DER client
    And the DER site waits until the EV is authorized
    And the DER site publishes control "evening" in program 2 from +600 s for 600 s: opModFixedW=5000, responseRequired=07, description=[user opts out]
    And the DER site tells the user "Your EV is asked to discharge at 50 % for 10 minutes from 18:00"
    And the DER site tells the user "You opted out of this evening's discharge" once the EV has opted out of control "evening"
    And the DER site waits until control "evening" has ended
    Then the telematics tells the user of each message: it acknowledges the site's text messages
    And the telematics answers control "evening" opted out for the user before it starts
