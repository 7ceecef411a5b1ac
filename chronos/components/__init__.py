"""Pure UI pieces: functions returning rx.Component; they take Vars, never State classes."""
