'use strict';

// EVENT_BUS_NAME names an existing bus: the stack never creates or deletes one. osls turns an
// `eventBridge.eventBus` given by name (anything but "default" or an ARN) into an
// AWS::Events::EventBus resource of the stack, which CloudFormation would create on deploy
// and delete with the stack (taking other teams' rules with it). After osls compiled the
// events, drop any such bus resource and the rules' DependsOn on it: the rule keeps
// EventBusName (the name) and the permission's SourceArn, so it attaches to the existing
// bus, and a deploy against a bus that does not exist fails instead of creating one.
class ExistingBus {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'after:package:compileEvents': () => this.dropCreatedBuses(),
    };
  }

  dropCreatedBuses() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources || {};
    const buses = Object.keys(resources).filter(
      (id) => resources[id].Type === 'AWS::Events::EventBus'
    );
    for (const id of buses) delete resources[id];
    if (!buses.length) return;
    for (const resource of Object.values(resources)) {
      if (resource.DependsOn === undefined) continue;
      const kept = [].concat(resource.DependsOn).filter((id) => !buses.includes(id));
      if (kept.length === 0) delete resource.DependsOn;
      else resource.DependsOn = kept.length === 1 ? kept[0] : kept;
    }
  }
}

module.exports = ExistingBus;
