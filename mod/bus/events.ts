/**
 * Typed events: declared once with Zeek argument types, handled by any
 * number of local handlers. The declaration drives both codecs and the
 * validation of what remote peers and WebSocket clients send.
 *
 * @module
 */

import type { ZeekType, ZeekValue } from "../../zeek/mod.ts";

/** An event's name and argument list, as in a Zeek `global name: event(...)`. */
export interface EventDeclaration {
  readonly name: string;
  readonly args: readonly { readonly name: string; readonly type: ZeekType }[];
  readonly argTypes: readonly ZeekType[];
}

/** A local handler; it receives the event's arguments in declaration order. */
export type EventHandler = (...args: ZeekValue[]) => void | Promise<void>;

/** The same event declared twice with different argument types. */
export class EventRedeclaredError extends Error {
  constructor(name: string) {
    super(`Cannot declare event "${name}" again with different argument types`);
    this.name = "EventRedeclaredError";
  }
}

/** Declarations and handlers of one process, with per-handler counters. */
export class EventRegistry {
  #declarations = new Map<string, EventDeclaration>();
  #handlers = new Map<string, EventHandler[]>();
  /** zeek_event_handler_invocations_total{name} */
  readonly invocations = new Map<string, number>();
  #onHandlerError: (name: string, error: unknown) => void;

  constructor(onHandlerError: (name: string, error: unknown) => void) {
    this.#onHandlerError = onHandlerError;
  }

  /**
   * Declares `name` with its arguments. Declaring the same event again with
   * the same types is harmless (two scripts may both declare it).
   */
  declare(name: string, args: readonly (readonly [string, ZeekType])[]): EventDeclaration {
    const declaration: EventDeclaration = Object.freeze({
      name,
      args: Object.freeze(args.map(([argName, type]) => Object.freeze({ name: argName, type }))),
      argTypes: Object.freeze(args.map(([, type]) => type)),
    });
    const existing = this.#declarations.get(name);
    if (existing !== undefined) {
      if (JSON.stringify(existing.argTypes) !== JSON.stringify(declaration.argTypes)) {
        throw new EventRedeclaredError(name);
      }
      return existing;
    }
    this.#declarations.set(name, declaration);
    return declaration;
  }

  lookup(name: string): EventDeclaration | undefined {
    return this.#declarations.get(name);
  }

  /** Argument types of a declared event (the codec's lookup function). */
  argTypes = (name: string): readonly ZeekType[] | undefined =>
    this.#declarations.get(name)?.argTypes;

  /** Adds a handler for `name`; handlers run in registration order. */
  on(name: string, handler: EventHandler): void {
    const list = this.#handlers.get(name);
    if (list === undefined) this.#handlers.set(name, [handler]);
    else list.push(handler);
  }

  hasHandlers(name: string): boolean {
    return (this.#handlers.get(name)?.length ?? 0) > 0;
  }

  /**
   * Runs every handler of `name` with `args`. A handler that throws (or
   * rejects) is reported and does not stop the others. Returns how many ran.
   */
  dispatch(name: string, args: readonly ZeekValue[]): number {
    const list = this.#handlers.get(name);
    if (list === undefined) return 0;
    this.invocations.set(name, (this.invocations.get(name) ?? 0) + 1);
    for (const handler of list) {
      try {
        const result = handler(...args);
        if (result instanceof Promise) result.catch((error) => this.#onHandlerError(name, error));
      } catch (error) {
        this.#onHandlerError(name, error);
      }
    }
    return list.length;
  }
}
