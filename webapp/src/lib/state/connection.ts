// The socket's state as the banner shows it, and why the session ended (if it did).

import type { ConnectionStatus } from "../ws/socket";
import type { Action } from "./actions";

export interface ConnectionState {
  status: ConnectionStatus;
  detail: string;
  /** The socket has been live at least once (the banner shows only after that or on failure). */
  everLive: boolean;
  signedOutReason: string | null;
  /** Connected, but sends are answered "try again" (e.g. the database is restarting): they are resent. */
  serverTrouble: boolean;
  /** A command was refused by a rate limit: the sentence to show (sends go again by themselves). */
  tooFast: string | null;
}

export const initialConnection: ConnectionState = {
  status: "connecting",
  detail: "",
  everLive: false,
  signedOutReason: null,
  serverTrouble: false,
  tooFast: null,
};

export function connectionReducer(state: ConnectionState, action: Action): ConnectionState {
  switch (action.type) {
    case "connection/status":
      return {
        ...state,
        status: action.status,
        detail: action.detail,
        everLive: state.everLive || action.status === "live",
      };
    case "session/signedOut":
      return { ...state, signedOutReason: action.reason };
    case "server/trouble":
      return state.serverTrouble === action.trouble ? state : { ...state, serverTrouble: action.trouble };
    case "server/tooFast":
      return state.tooFast === action.sentence ? state : { ...state, tooFast: action.sentence };
    default:
      return state;
  }
}
