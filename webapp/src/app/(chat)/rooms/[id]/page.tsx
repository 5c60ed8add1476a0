import { notFound } from "next/navigation";
import { Conversation } from "@/components/Conversation";

export default async function RoomPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const roomId = Number(id);
  if (!Number.isSafeInteger(roomId) || roomId <= 0) notFound();
  return <Conversation key={roomId} roomId={roomId} />;
}
