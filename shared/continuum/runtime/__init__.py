"""The composition root: runtime profiles (profiles.py) decide what differs per runtime;
adapters.py builds adapters from their settings groups; services.py assembles the services;
assembly.py puts a profile, settings and runtime bindings together for the app."""

from continuum.runtime.profiles import CLI, LAMBDA, WORKER, ProcessModel, RuntimeProfile, local_server
from continuum.runtime.services import build_services
from continuum.services import Services

__all__ = ["CLI", "LAMBDA", "WORKER", "ProcessModel", "RuntimeProfile", "Services", "build_services", "local_server"]
