// The registry's state machine factory for RegistryNode: state/'s RegistryState.
import { RegistryState } from "../state/registry-state.ts";
import type { StateMachineFactory } from "./replicated-state.ts";

export const registryStateMachine: StateMachineFactory = {
  empty: () => new RegistryState(),
  restore: (bytes) => RegistryState.restore(bytes),
};
