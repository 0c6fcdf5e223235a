"""Model execution behind one small async protocol (see ``base.Backend``)."""
