import { SearchResults } from "@/components/SearchResults";

export default function SearchPage() {
  return <SearchResults />;
}
