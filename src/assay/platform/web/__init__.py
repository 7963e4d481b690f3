"""The platform's web layer: dependencies, errors on the wire, the page shell, its API and pages."""
