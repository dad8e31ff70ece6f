"""The pure domain: snapshot kinds, derived names, ownership tags, scope, retention rules,
capacity planning, the report data and console links. Nothing here calls AWS or imports
boto3 (docs/ARCHITECTURE.md, "Floors")."""
