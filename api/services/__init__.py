"""The rules, answers and workflows of each resource (one module a resource), and the helpers they share."""
