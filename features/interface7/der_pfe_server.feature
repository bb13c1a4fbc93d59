@interface:7 @protocol:ieee2030.5 @der
Feature: The utility's IEEE 2030.5 DER server under test, the tester as an EV DER client
  SAE J2836/3 AC DER on interface 7: the PFE publishes DER programs (primacy, a DefaultDERControl, curves
  and controls) and changes them while its clients follow. The tester finds the server, registers an EV
  inverter (DERCapability, DERSettings, DERStatus, DERAvailability), walks the program tree every
  pollRate with the reference DER event engine and posts the responses the controls ask for. Every
  verdict comes from the decrypted capture.

  Background:
    Given the pfe-server under test serves IEEE 2030.5 DER programs

  @id:TC_DER_I7_001 @dut:pfe-server @req:DER-SERVER-01 @req:DER-SERVER-02
  Scenario: The DER program tree is well formed and the server accepts the client's DER resources
    When the tester follows the server's DER programs as an EV DER client
    Then the server's DER programs have a primacy and a default, its controls valid times and no ambiguous overlap, and every curve they name exists
    And the server accepts the tester's DER capability, settings, status and availability

  @id:TC_DER_I7_002 @dut:pfe-server @req:DER-SERVER-03 @req:DER-SERVER-04 @negative
  Scenario: The server cancels and replaces controls while the client follows: the change arrives within one poll and the responses are accepted
    When the tester follows the server's DER programs as an EV DER client
    And the tester follows them until the server cancels a control
    And the tester follows them until the server supersedes a control
    Then the server's change of a control reaches the tester within one poll and stays
    And the server accepts the tester's control responses
