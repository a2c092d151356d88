"""The demo and synthetic data: loader.py (seed_demo) loads the reference frameworks and the system card
from fixtures/; synthetic.py (generate_data) makes records at scale. Neither holds a rule: they write
through the models and the audit trail as any user does."""
