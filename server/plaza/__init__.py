"""The live plaza of this process: entering, leaving and moving (the socket events every
page uses) and the room tick that sends each changed room one delta.

May import: every feature below it (``meetings``, ``motion``) and the layers they use.
"""
