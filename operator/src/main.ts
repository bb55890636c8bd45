#!/usr/bin/env node
/**
 * `multi-mcp-operator` entry point. The controller is not implemented yet: say so and exit with
 * a distinct code (2) rather than pretend to run, so a Deployment of this image fails visibly.
 */
process.stderr.write('multi-mcp-operator: not implemented yet\n');
process.exit(2);
