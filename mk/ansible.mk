# Ansible examples (examples/ansible): playbooks and the pftls module, run with real
# ansible-core (pinned in tests/ansible/requirements.txt, virtualenv ~/.cache/pftls/ansible-venv,
# reused when present) over a 20-host local fleet. With CI=true a failure to install
# ansible-core is a test failure.
ANSIBLE_PFTLS := $(or $(CARGO_TARGET_DIR),target)/debug/pftls

.PHONY: test-ansible bench-ansible

test-ansible: test-deps
	$(CARGO) build -p pftls
	bash tests/ansible/run.sh $(ANSIBLE_PFTLS)

# Playbook time over the fleet with pftls vs a stub (what pftls adds per host).
bench-ansible: test-deps
	$(CARGO) build -p pftls
	bash tests/ansible/bench.sh $(ANSIBLE_PFTLS)

EXTRA_TESTS += test-ansible
