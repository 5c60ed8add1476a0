import { notFound } from "next/navigation";
import { RoomSettings } from "@/components/RoomSettings";

export default async function RoomSettingsPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const roomId = Number(id);
  if (!Number.isSafeInteger(roomId) || roomId <= 0) notFound();
  return <RoomSettings key={roomId} roomId={roomId} />;
}
