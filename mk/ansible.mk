# Ansible (issue 18): the pftls.postfix collection (ansible_collections/pftls/postfix) and the
# playbooks of examples/ansible, run with real ansible-core (pinned in tests/ansible/requirements*.txt,
# virtualenvs under ~/.cache/pftls, reused when present) over a fleet of hosts reached by real
# SSH: one network namespace, sshd and address per host (tests/ansible/sshfleet.sh). Needs root.
# tests/ansible/install-deps.sh installs sshd, sudo and iproute2 when missing. With CI=true a
# failure to install ansible-core is a test failure.
ANSIBLE_PFTLS := $(or $(CARGO_TARGET_DIR),target)/debug/pftls

.PHONY: test-ansible bench-ansible ansible-deps

ansible-deps:
	bash tests/ansible/install-deps.sh

test-ansible: test-deps ansible-deps
	$(CARGO) build -p pftls
	bash tests/ansible/run.sh $(ANSIBLE_PFTLS)

# Playbook time over the ssh fleet with pftls vs a stub module (what pftls adds per host).
bench-ansible: test-deps ansible-deps
	$(CARGO) build -p pftls
	bash tests/ansible/bench.sh $(ANSIBLE_PFTLS)

EXTRA_TESTS += test-ansible
