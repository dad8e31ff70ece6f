'use strict';

// osls compares every layer with the deployed stack's outputs (CloudFormation
// DescribeStacks) to skip re-uploading an unchanged layer. That call needs AWS credentials,
// so `serverless package` would fail offline. For `package` only, skip the comparison: the
// generated template and zips are the same. `deploy` keeps it (it has credentials anyway).
class OfflineLayers {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.skipLayerComparison(),
    };
  }

  skipLayerComparison() {
    const command = (this.serverless.processedInput.commands || []).join(' ');
    if (command !== 'package') return;
    for (const plugin of this.serverless.pluginManager.plugins) {
      if (typeof plugin.compareWithLastLayer === 'function') {
        plugin.compareWithLastLayer = async () => undefined;
      }
    }
  }
}

module.exports = OfflineLayers;
