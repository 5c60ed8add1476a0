import { CreateRoom } from "@/components/CreateRoom";

export default function NewRoomPage() {
  return <CreateRoom />;
}
