export type MemberStatus = "guest" | "active" | "suspended" | "cancelled" | "erased";

export interface MembersTable {
  shop_id: string;
  id: string;
  status: MemberStatus;
  created_at: string;
  updated_at: string;
}
