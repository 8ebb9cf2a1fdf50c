"""Score-drop alerts: the metrics service compares each touchpoint's recent window with its
trailing baseline, opens an alert when the drop is significant on enough answers, resolves it
when the score recovers, and notifies the owning team's webhook.

rules.py decides (pure), repository.py holds the SQL, evaluator.py runs the loop, notifier.py
delivers the outbox. The tables are in shared/alert_tables.py.
"""
